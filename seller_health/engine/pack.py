"""What a rule pack is once parsed: typed, validated rules and packs, free of YAML.

The engine, the reports and the alerts read these; ``engine/rules.py`` makes them from the rule
files (and is the only module that needs the metric registry to do so).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from seller_health.engine.fields import ID_FIELD
from seller_health.engine.predicates import Predicate, fields_read
from seller_health.engine.thresholds import Condition, Limits


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_blank(text: str) -> str:
    """A blank action would print as an empty bullet in a seller's plan of action."""
    if not text.strip():
        raise ValueError("an action cannot be empty")
    return text


# Corrective actions a seller copies into a plan of action. Capped so that each stays one
# sentence a translator can handle and the list stays short enough to act on; kept exactly as
# written (never stripped) because the text is also the gettext msgid of its translations.
Action = Annotated[str, StringConstraints(max_length=300), AfterValidator(_not_blank)]
Actions = Annotated[list[Action], Field(max_length=12)]

_DURATION = re.compile(r"(\d+)([smhdw])")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: object) -> timedelta:
    """``"30m"``, ``"6h"``, ``"2d"``, ``"1h30m"``: how long a condition must hold (Prometheus'
    notation, so an operator writes it as they would an alerting rule's ``for:``).

    Only strings: a bare number in YAML or TOML would leave its unit to a guess.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"expected a duration such as 30m, 6h or 2d, got {text!r}")
    compact = text.strip()
    parts = _DURATION.findall(compact)
    if not parts or "".join(f"{n}{u}" for n, u in parts) != compact:
        raise ValueError(f"expected a duration such as 30m, 6h or 2d, got {text!r}")
    return timedelta(seconds=sum(int(n) * _DURATION_UNITS[u] for n, u in parts))


# A rule's ``for:``: its new status alerts only once it has held this long.
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class CalendarSpec(_Strict):
    """Business hours: delays then count only open time (see ``engine/calendar.py``)."""

    timezone: str = "UTC"
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = [
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
    ]
    hours: str = "09:00-17:00"
    holidays: str | None = None  # country code for the holidays library, e.g. "IT" or "US-CA"

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d", value):
            raise ValueError("expected opening hours such as 09:00-17:00")
        start, end = value.split("-")
        if end <= start:
            raise ValueError("closing time must be after opening time")
        return value


class OverrideSpec(_Strict):
    title: str | None = None
    breach: str | dict[Literal["rate", "count"], str] | None = None
    warn: str | dict[Literal["rate", "count"], str] | None = None
    min_sample: int | None = Field(default=None, ge=0)
    window_days: int | None = Field(default=None, gt=0)
    business_hours: CalendarSpec | None = None
    actions: Actions | None = None
    for_: Duration | None = Field(default=None, alias="for")


@dataclass(frozen=True)
class ValueExpr:
    """What a mean or median averages: a numeric field, or a duration between two instants."""

    field: str | None = None
    start: str | None = None
    end: str | None = None

    @property
    def is_duration(self) -> bool:
        return self.start is not None


@dataclass(frozen=True)
class Qualification:
    window_days: int
    orders_where: Predicate | None
    min_orders: int
    min_sales: Mapping[str, Fraction]
    min_account_age_days: int

    def sales_threshold(self, currency: str | None) -> Fraction | None:
        if not self.min_sales:
            return None
        return self.min_sales.get(currency or "", self.min_sales.get("default"))


@dataclass(frozen=True)
class Level:
    level: str
    if_any_status: tuple[str, ...]
    unless_any_status: tuple[str, ...]
    qualify: Qualification | None


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    description: str
    pack: str
    of: str
    metric: str  # its kind's name in the registry (engine/metrics.py)
    window_days: int
    window_by: str
    fallback_days: int | None
    min_orders: int | None
    where: Predicate | None
    good: Predicate | None
    bad: Predicate | None
    value: ValueExpr | None
    plus: Predicate | None
    minus: Predicate | None
    group_by: str | None
    count_distinct: str | None
    count: str | None  # "items", or the field whose distinct values are counted
    breach: Condition | None
    warn: Condition | None
    min_sample: int
    percentile: int | None
    message: str | None
    business_hours: CalendarSpec | None
    items: str
    source: str
    # What a seller does about a failing rule, in English; reports translate each one.
    actions: tuple[str, ...] = ()
    # ``for:``: how long a change of its status must hold before it alerts (None: at once).
    alert_after: timedelta | None = None

    @property
    def id_field(self) -> str:
        return ID_FIELD[self.of]

    @property
    def fields(self) -> set[str]:
        """Every field of its record set the rule reads."""
        read = {self.window_by} | {f for f in (self.group_by, self.count_distinct) if f}
        for node in (self.where, self.good, self.bad, self.plus, self.minus):
            read |= fields_read(node)
        if self.value is not None:
            read |= {f for f in (self.value.field, self.value.start, self.value.end) if f}
        return read

    @property
    def reference(self) -> Condition | None:
        """The condition headroom and roll-off speak about: breach, else warn."""
        return self.breach or self.warn

    @property
    def numerator_is_good(self) -> bool:
        return self.good is not None

    def limits(self, *, counts: bool) -> Limits:
        """What its status depends on, for arithmetic on counts (steps, recovery, forecasts)."""
        return Limits(
            breach=self.breach,
            warn=self.warn,
            good=self.numerator_is_good,
            counts=counts,
            min_sample=self.min_sample,
        )

    def threshold_texts(self) -> dict[str, str]:
        return {
            name: cond.text
            for name, cond in (("breach", self.breach), ("warn", self.warn))
            if cond is not None
        }


@dataclass(frozen=True)
class Pack:
    name: str
    title: str
    applies_to: str
    rules: tuple[Rule, ...]
    gate: Qualification | None = None
    levels: tuple[Level, ...] = ()
    level_key: str = "level"
    source: str = ""
    overrides: Mapping[str, OverrideSpec] = field(default_factory=dict)

    def applies(self, marketplace: str) -> bool:
        return self.applies_to in ("all", marketplace)
