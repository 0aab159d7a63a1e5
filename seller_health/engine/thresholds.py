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
