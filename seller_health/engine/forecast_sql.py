"""The engine's side of forecasts: what ``engine/forecast.py`` needs, read from a rule's items.

The counting stays in SQL. One grouped query over the materialised items table gives, per
account and day of age, the items and the bad items: at most one row per day of the window,
however many orders an account has, and a single row (its recent items) for an account with no
bad item, whose status no schedule of exits can change. A compound limit ("above 2% and above 4
buyers") takes one more query, the day each counted value (buyer) stops counting. Earlier
checks come from :func:`rule_history`, one call per rule for the accounts with a status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Table,
    case,
    func,
    literal,
    or_,
    select,
)

from seller_health.engine.forecast import (
    HISTORY_POINTS,
    RECENT_DAYS,
    Forecast,
    Window,
    forecast,
)
from seller_health.store.history import rule_history
from seller_health.timeutil import MICROS_PER_DAY

if TYPE_CHECKING:
    from seller_health.engine.pack import Rule


class _Run(Protocol):
    """The evaluation's moment and connection (``evaluate.Evaluation``)."""

    conn: Connection
    as_of: datetime

    @property
    def t(self) -> int: ...


class _Counts(Protocol):
    """The per-account aggregate of a rate or count rule (``metrics.Aggregate``)."""

    denominator: int
    numerator: int | None
    count: int | None
    forecast_inputs: ForecastInputs | None


@dataclass
class ForecastInputs:
    """One account's items by age (see :class:`Window`) and its earlier values of the rule."""

    by_age: dict[int, tuple[int, int]] = field(default_factory=dict)
    count_by_age: dict[int, int] = field(default_factory=dict)
    recent_counts: tuple[int, int] | None = None  # instead of by_age, when nothing is bad
    history: list[tuple[datetime, float]] = field(default_factory=list)


def read_inputs(
    ev: _Run,
    rule: Rule,
    items: Table,
    bad: ColumnElement[bool],
    aggregates: Mapping[str, _Counts],
) -> None:
    """Set ``forecast_inputs`` on the aggregates of the accounts that have a status (of a rule
    whose kind forecasts: ``MetricKind.forecasts``)."""
    accounts = [a for a, agg in aggregates.items() if agg.denominator >= max(rule.min_sample, 1)]
    if not accounts:
        return
    good = rule.numerator_is_good
    busy = [a for a in accounts if _bad(aggregates[a], good)]
    c = items.c
    age = (literal(ev.t - 1, BigInteger) - c.sel) // MICROS_PER_DAY
    # An account without bad items gets one bucket (-1): its items of the recent days.
    bucket = case((c.account_id.in_(busy), age), else_=-1)
    aged = (
        select(c.account_id, bucket.label("age"), case((bad, 1), else_=0).label("bad"))
        .where(
            c.account_id.in_(accounts),
            c.sel.is_not(None),
            or_(c.account_id.in_(busy), age < RECENT_DAYS),
        )
        .subquery("aged")
    )
    inputs = {a: ForecastInputs() for a in busy}
    inputs.update((a, ForecastInputs(recent_counts=(0, 0))) for a in accounts if a not in inputs)
    for account_id, day, n, b in ev.conn.execute(
        select(aged.c.account_id, aged.c.age, func.count(), func.sum(aged.c.bad)).group_by(
            aged.c.account_id, aged.c.age
        )
    ):
        if day < 0:
            inputs[account_id].recent_counts = (int(n), 0)
        else:
            inputs[account_id].by_age[int(day)] = (int(n), int(b or 0))
    if rule.count is not None and "key" in c and busy:
        youngest = (
            select(c.account_id, func.min(age).label("age"))
            .where(bad, c.account_id.in_(busy), c.sel.is_not(None))
            .group_by(c.account_id, c.key)
            .subquery("youngest")
        )
        for account_id, day, n in ev.conn.execute(
            select(youngest.c.account_id, youngest.c.age, func.count()).group_by(
                youngest.c.account_id, youngest.c.age
            )
        ):
            inputs[account_id].count_by_age[int(day)] = int(n)
    # One more than needed: a re-run at this very as_of comes back too and is left out.
    longest = max(rule.window_days, rule.fallback_days or 0)
    series = rule_history(
        ev.conn,
        accounts,
        rule_ids=[rule.id],
        since=ev.as_of - timedelta(days=longest),
        until=ev.as_of,
        limit=HISTORY_POINTS + 1,
    )
    for account_id, found in inputs.items():
        found.history = [
            (p.as_of, p.value)
            for p in series.get((account_id, rule.id), [])
            if p.value is not None and p.status != "insufficient_data"
        ]
        aggregates[account_id].forecast_inputs = found


def _bad(agg: _Counts, good: bool) -> int:
    numerator = agg.numerator or 0
    return agg.denominator - numerator if good else numerator


def rule_forecast(
    rule: Rule, agg: _Counts, days: int, as_of: datetime, status: str, unit: str
) -> Forecast | None:
    """The forecast of one result, from the inputs :func:`read_inputs` left on its aggregate.

    ``rule`` is the account's own (with the marketplace's target where it reported one), and
    ``unit`` its value's: a ``count`` is the bad items themselves, else a ratio of the items. A
    forecast whose starting status differs from the evaluated ``status`` is dropped rather than
    shown: both read the same counts, so that would be a bug, not a prediction.
    """
    inputs = agg.forecast_inputs
    if inputs is None:
        return None
    limits = rule.limits(counts=unit == "count")
    window = Window(
        as_of=as_of,
        days=days,
        items=agg.denominator,
        bad=limits.bad(agg.denominator, agg.numerator or 0),
        count=agg.count,
        by_age=inputs.by_age,
        count_by_age=inputs.count_by_age,
        recent_counts=inputs.recent_counts,
    )
    result = forecast(window, limits, inputs.history, items=rule.items)
    if result is None or result.status_now != status:
        return None
    return result
