"""Plain-language values and the one-line message of each result."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seller_health.engine.results import RuleResult
    from seller_health.engine.rules import Rule

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def format_value(value: Fraction | float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ratio":
        return f"{float(value) * 100:.2f}%"
    if unit == "seconds":
        return format_duration(float(value))
    if unit == "count":
        return str(int(value))
    if unit == "score":
        return f"{float(value):.1f}"
    return f"{float(value):.2f}"


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def describe(rule: Rule, result: RuleResult, days: int) -> str:
    """Fill the rule's ``message`` template; only ``{name}`` placeholders, nothing evaluated."""
    fields = {
        "numerator": "n/a" if result.numerator is None else str(result.numerator),
        "denominator": "n/a" if result.denominator is None else str(result.denominator),
        "value": format_value(result.value, result.unit),
        "days": str(days),
        "count": "n/a" if result.count is None else str(result.count),
        "items": rule.items,
        "p90": format_value(result.p90, result.unit),
    }
    if result.value is None:
        minimum = max(rule.min_sample, 1)
        found = f"{result.denominator or 0} {rule.items}"
        return f"{found} in the last {days} days (at least {minimum} needed)"
    template = rule.message or _default_template(rule)
    return _PLACEHOLDER.sub(lambda m: fields.get(m.group(1), m.group(0)), template)


def _default_template(rule: Rule) -> str:
    if rule.metric == "rate":
        word = "good" if rule.numerator_is_good else "bad"
        return "{numerator} of {denominator} {items} " + word + " in the last {days} days ({value})"
    if rule.metric == "count":
        return "{value} of {denominator} {items} in the last {days} days"
    return "{value} over {denominator} {items} in the last {days} days"


_CONDITION = re.compile(r"(>=|<=|>|<)\s*(-?[0-9.]+)")
_SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


def format_condition(text: str, unit: str) -> str:
    """``>= 0.01`` as ``≥ 1.00%`` for a rate, ``> 14400`` as ``> 4h 00m`` for a duration."""

    def one(match: re.Match[str]) -> str:
        op, number = match.groups()
        return f"{_SYMBOLS[op]} {format_value(Fraction(number), unit)}"

    first, sep, count = text.partition(" and count ")
    shown = _CONDITION.sub(one, first)
    return shown + (f" and > {count.split()[-1]} items" if sep else "")
