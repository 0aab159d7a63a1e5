"""Threshold conditions, compared exactly, and the headroom arithmetic of ``metrics.md``.

A condition reads like SodaCL or dbt's ``warn_if``: ``">= 0.01"``. eBay's limits are compound,
"above r and above n": ``{rate: "> 0.02", count: "> 4"}`` fails only when both parts fail.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

OPERATORS: dict[str, Callable[[Fraction, Fraction], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
_CONDITION = re.compile(r"^\s*(>=|<=|>|<)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$")


class ConditionError(ValueError):
    pass


@dataclass(frozen=True)
class Comparison:
    op: str
    bound: Fraction
    text: str

    @classmethod
    def parse(cls, text: object) -> Comparison:
        if isinstance(text, bool) or not isinstance(text, str | int | float):
            raise ConditionError(f"expected a condition such as '>= 0.01', got {text!r}")
        match = _CONDITION.match(str(text))
        if not match:
            raise ConditionError(f"{text!r} is not a condition such as '>= 0.01' or '< 0.95'")
        op, number = match.groups()
        try:
            bound = Fraction(Decimal(number))
        except InvalidOperation:  # pragma: no cover - the regex admits only decimals
            raise ConditionError(f"{number!r} is not a decimal number") from None
        return cls(op, bound, f"{op} {number}")

    def holds(self, value: Fraction) -> bool:
        return OPERATORS[self.op](value, self.bound)

    @property
    def higher_is_worse(self) -> bool:
        return self.op in (">", ">=")


@dataclass(frozen=True)
class Condition:
    """One status condition: a comparison on the value, optionally AND one on a count."""

    value: Comparison
    count: Comparison | None = None

    def holds(self, value: Fraction, count: int | None = None) -> bool:
        if not self.value.holds(value):
            return False
        if self.count is None:
            return True
        return count is not None and self.count.holds(Fraction(count))

    @property
    def text(self) -> str:
        if self.count is None:
            return self.value.text
        return f"{self.value.text} and count {self.count.text}"


def rate_headroom(
    condition: Condition, numerator: int, denominator: int, count: int | None, *, good: bool
) -> int | None:
    """Items that may turn bad before ``condition`` holds, or minus those that must stop being bad.

    ``good`` says the numerator counts good items, so an item turning bad lowers it. Under a
    compound condition each item moves the count by one as well. ``None`` when the condition can
    never be escaped or never be reached, so no number of items answers the question.
    """

    def fails_after(k: int) -> bool:
        num = numerator - k if good else numerator + k
        cnt = None if count is None else count + k
        return condition.holds(Fraction(num, denominator), cnt)

    if not fails_after(0):
        limit = numerator if good else denominator - numerator
        return _last_true(lambda k: not fails_after(k), limit)
    limit = denominator - numerator if good else numerator
    if fails_after(-limit):
        return None
    return -_first_true(lambda k: not fails_after(-k), 1, limit)


def _last_true(predicate: Callable[[int], bool], high: int) -> int:
    """Largest k in [0, high] with predicate true, for predicate true at 0 and monotone."""
    low = 0
    while low < high:
        mid = (low + high + 1) // 2
        if predicate(mid):
            low = mid
        else:
            high = mid - 1
    return low


def _first_true(predicate: Callable[[int], bool], low: int, high: int) -> int:
    """Smallest k in [low, high] with predicate true, for predicate true at high and monotone."""
    while low < high:
        mid = (low + high) // 2
        if predicate(mid):
            high = mid
        else:
            low = mid + 1
    return low


_RANK = {"ok": 0, "warn": 1, "breach": 2}
UNBOUNDED = 1 << 62  # a count has no population: more bad items can always arrive


@dataclass(frozen=True)
class Limits:
    """What a rule's status depends on, for arithmetic on its counts (steps, forecasts)."""

    breach: Condition | None
    warn: Condition | None
    good: bool = False  # the numerator counts good items (valid tracking, on time)
    counts: bool = False  # a count metric: the value is the numerator itself, not a rate
    min_sample: int = 1

    @property
    def unit(self) -> str:
        return "count" if self.counts else "ratio"

    def numerator(self, items: int, bad: int) -> int:
        return items - bad if self.good else bad

    def bad(self, items: int, numerator: int) -> int:
        """The bad items behind a numerator (its complement when it counts good ones)."""
        return items - numerator if self.good and not self.counts else numerator

    def value(self, items: int, bad: int) -> Fraction:
        numerator = self.numerator(items, bad)
        return Fraction(numerator) if self.counts else Fraction(numerator, items)

    def status(self, items: int, bad: int, count: int | None) -> str:
        """Breach tested first, as the evaluation does; too few items is ``insufficient_data``."""
        if items < max(self.min_sample, 1):
            return "insufficient_data"
        value = self.value(items, bad)
        if self.breach is not None and self.breach.holds(value, count):
            return "breach"
        if self.warn is not None and self.warn.holds(value, count):
            return "warn"
        return "ok"

    def badness(self, value: Fraction | float) -> Fraction | float:
        """How bad a value is, growing as it gets worse: the bad share of a "good" rate."""
        return 1 - value if self.good and not self.counts else value


def steps_and_recovery(
    limits: Limits, items: int, bad: int, count: int | None
) -> tuple[dict[str, int | None], dict[str, int | None]]:
    """``steps`` and ``recovery`` of metrics.md ("Steps and recovery"): for each worse status the
    rule can reach, the fewest more bad items that reach it; for each better one it can give,
    the fewest fewer bad items that give it. None where no number of items does.

    A rate keeps its population: only its good items can turn bad, only its bad ones good, and a
    compound limit's count part moves with each. A count has no population: more bad items can
    always arrive. Both are empty for a status the arithmetic does not apply to.
    """
    status = limits.status(items, bad, count)
    if status not in _RANK:
        return {}, {}

    def rank_after(k: int) -> int:  # k more bad items (negative: fewer)
        moved = None if count is None else count + k
        return _RANK[limits.status(items, bad + k, moved)]

    can_turn_bad = UNBOUNDED if limits.counts else items - bad
    steps: dict[str, int | None] = {}
    for target, condition in (("warn", limits.warn), ("breach", limits.breach)):
        if condition is not None and _RANK[target] > _RANK[status]:
            rank = _RANK[target]
            steps[target] = _fewest(lambda k, rank=rank: rank_after(k) >= rank, can_turn_bad)
    recovery: dict[str, int | None] = {}
    better = {"breach": [("warn", limits.warn), ("ok", True)], "warn": [("ok", True)]}
    for target, condition in better.get(status, []):
        if condition is not None:
            rank = _RANK[target]
            recovery[target] = _fewest(lambda k, rank=rank: rank_after(-k) <= rank, bad)
    return steps, recovery


def _fewest(predicate: Callable[[int], bool], most: int) -> int | None:
    """The smallest k in [1, most] for which ``predicate`` holds (it holds from there on), or
    None; an unbounded ``most`` is searched by doubling."""
    if most < 1:
        return None
    if most >= UNBOUNDED:
        high = 1
        while not predicate(high):
            high *= 2
            if high >= UNBOUNDED:
                return None
        most = high
    elif not predicate(most):
        return None
    return _first_true(predicate, 1, most)
