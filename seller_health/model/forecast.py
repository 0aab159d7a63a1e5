"""What a forecast says: plain values, so that results can hold one and be stored without the
arithmetic that made it (``engine/forecast.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction


@dataclass(frozen=True)
class Reason:
    """Why a forecast is not high confidence (or has no date), with its figures kept apart so a
    translated report can rebuild the sentence."""

    code: str  # few_items | no_recent_items | few_recent_bad | recent_bad | few_checks |
    # noisy_history | history_disagrees | far_ahead
    count: int | None = None
    days: int | None = None


@dataclass(frozen=True)
class Step:
    """The first day a status is reached: worse ones for a crossing, better ones for a recovery.

    ``threshold`` is the condition reached (crossing) or left behind (recovery); ``leaving`` the
    bad items of today's window gone by then; ``arriving`` the new bad items assumed by then.
    """

    status: str
    days: int
    at: datetime
    value: Fraction
    numerator: int
    denominator: int
    count: int | None
    leaving: int
    arriving: int
    threshold: str


@dataclass(frozen=True)
class Forecast:
    """Where a rule is heading. ``steps`` is chronological; the headline is the last step."""

    kind: str  # crossing | recovery
    status_now: str
    unit: str  # ratio | count
    items: str  # what the rule counts, in words ("orders")
    numerator: int
    denominator: int
    count: int | None
    direction: str | None  # rising | falling | steady at the current pace; None: cannot tell
    steps: tuple[Step, ...]
    confidence: str  # low | medium | high
    reasons: tuple[Reason, ...]
    basis: str  # what the projection assumed, in a few words
    horizon_days: int
    recent_days: int
    recent_items: int
    recent_bad: int
    trend: str | None = None  # what earlier checks show: rising | falling | steady; None
    checks: int = 0  # the earlier checks behind ``trend``
    withheld: bool = False  # no date given: too few items, or no recent pace at all

    @property
    def value(self) -> Fraction:
        if self.unit == "count":
            return Fraction(self.numerator)
        return Fraction(self.numerator, self.denominator)

    @property
    def status(self) -> str | None:
        """The status it would reach: the worst for a crossing, the best for a recovery."""
        return self.steps[-1].status if self.steps else None

    @property
    def at(self) -> datetime | None:
        return self.steps[-1].at if self.steps else None

    @property
    def days(self) -> int | None:
        return self.steps[-1].days if self.steps else None
