"""Plain-language values and the one-line message of each result."""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

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


def message_parts(rule: Rule, result: RuleResult, days: int) -> tuple[str, dict[str, Any]]:
    """The message template of a result and its raw values, kept so reports can re-word it in
    the reader's language (``{value}`` and ``{p90}`` come from the result itself)."""
    values: dict[str, Any] = {
        "numerator": result.numerator,
        "denominator": result.denominator or 0 if result.value is None else result.denominator,
        "days": days,
        "count": result.count,
        "items": rule.items,
    }
    if result.value is None:
        values["minimum"] = max(rule.min_sample, 1)
        template = N_("{denominator} {items} in the last {days} days (at least {minimum} needed)")
        return template, values
    return rule.message or _default_template(rule), values


def fill(template: str, fields: Mapping[str, str]) -> str:
    """Only ``{name}`` placeholders, nothing evaluated; an unknown name stays as written."""
    return _PLACEHOLDER.sub(lambda m: fields.get(m.group(1), m.group(0)), template)


def describe(rule: Rule, result: RuleResult, days: int) -> str:
    """The English message of a result; sets ``result.template`` and its values as a side note."""
    template, values = message_parts(rule, result, days)
    result.template, result.template_values = template, values
    fields = {key: "n/a" if value is None else str(value) for key, value in values.items()}
    fields["value"] = format_value(result.value, result.unit)
    fields["p90"] = format_value(result.p90, result.unit)
    return fill(template, fields)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for translation only"
    """Marks a message for the catalogs; it is translated where a report shows it."""
    return message


def _default_template(rule: Rule) -> str:
    if rule.metric == "rate" and rule.numerator_is_good:
        return N_("{numerator} of {denominator} {items} good in the last {days} days ({value})")
    if rule.metric == "rate":
        return N_("{numerator} of {denominator} {items} bad in the last {days} days ({value})")
    if rule.metric == "count":
        return N_("{value} of {denominator} {items} in the last {days} days")
    return N_("{value} over {denominator} {items} in the last {days} days")


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
