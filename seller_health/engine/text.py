"""Plain-language values and the one-line message of each result."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Protocol

from seller_health.model.results import N_

if TYPE_CHECKING:
    from seller_health.engine.rules import Rule
    from seller_health.model.forecast import Forecast
    from seller_health.model.results import RuleResult

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


def _default_template(rule: Rule) -> str:
    if rule.metric == "rate" and rule.numerator_is_good:
        return N_("{numerator} of {denominator} {items} good in the last {days} days ({value})")
    if rule.metric == "rate":
        return N_("{numerator} of {denominator} {items} bad in the last {days} days ({value})")
    if rule.metric == "count":
        return N_("{value} of {denominator} {items} in the last {days} days")
    return N_("{value} over {denominator} {items} in the last {days} days")


CONDITION = re.compile(r"(>=|<=|>|<)\s*(-?[0-9.]+)")  # a threshold: operator, number
SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


def format_condition(text: str, unit: str) -> str:
    """``>= 0.01`` as ``≥ 1.00%`` for a rate, ``> 14400`` as ``> 4h 00m`` for a duration."""

    def one(match: re.Match[str]) -> str:
        op, number = match.groups()
        return f"{SYMBOLS[op]} {format_value(Fraction(number), unit)}"

    first, sep, count = text.partition(" and count ")
    shown = CONDITION.sub(one, first)
    if not sep:
        return shown
    match = CONDITION.search(count)
    if match is None:  # not a condition: say it as written rather than guess an operator
        return f"{shown} and count {count.strip()}"
    op, number = match.groups()
    return f"{shown} and {SYMBOLS[op]} {number} items"


# The count part of a compound limit in words, by its operator: "> 2" is "more than 2 items",
# ">= 3" "at least 3 items", so a custom rule's limit reads as it is enforced.
COUNT_PARTS = {
    ">": N_("and more than {n} items"),
    ">=": N_("and at least {n} items"),
    "<": N_("and fewer than {n} items"),
    "<=": N_("and at most {n} items"),
}


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# The pieces of a forecast's sentence, in one place, marked for the catalogs: a report rebuilds
# the sentence in the reader's language from the forecast's own figures. Reasons are keyed by
# Reason.code.
FORECAST_TEXT = {
    "head": N_("{value} and {direction}"),
    "head_no_direction": N_("{value}"),
    "in_1_day": N_("in about 1 day"),
    "in_days": N_("in about {days} days"),
    "withheld": N_("no date can be projected"),
    "crossing_step": N_("{status} ({threshold}) {when}"),
    "crossing": N_("reaches {steps} at the current pace"),
    "crossing_none": N_("stays {status} for the next {horizon} days at the current pace"),
    "recovery_step": N_("to {status} on {date}"),
    "recovery": N_(
        "recovers {steps} as {leaving} bad {items} leave the window, if no new bad {items} arrive"
    ),
    "recovery_by_dilution": N_(
        "recovers {steps} as new {items} dilute the bad ones, if no new bad {items} arrive"
    ),
    "recovery_none": N_(
        "does not recover within {horizon} days, even if no new bad {items} arrive"
    ),
    "both": N_("{first} and {second}"),
    "confidence": N_("{confidence} confidence: {reasons}"),
    "confidence_no_reason": N_("{confidence} confidence"),
    "few_items": N_("{count} {items} in the window"),
    "no_recent_items": N_("no new {items} in the last {days} days"),
    "few_recent_bad": N_("the pace rests on {count} bad {items} in the last {days} days"),
    "recent_bad": N_("new bad {items} still arriving ({count} in the last {days} days)"),
    "few_checks": N_("only {count} earlier checks to confirm the trend"),
    "few_checks_0": N_("no earlier check to confirm the trend"),
    "few_checks_1": N_("only 1 earlier check to confirm the trend"),
    "noisy_history": N_("earlier checks go up and down"),
    "history_disagrees": N_("earlier checks show it {trend}"),
    "far_ahead": N_("more than {days} days ahead"),
}
# Single words a forecast uses: directions, trends, confidence levels.
FORECAST_WORDS = (
    N_("rising"),
    N_("falling"),
    N_("steady"),
    N_("low"),
    N_("medium"),
    N_("high"),
)


class Wording(Protocol):
    """How a sentence is worded for a reader: the report's Localizer is one, English the default."""

    def gettext(self, message: str) -> str: ...

    def value(self, value: Fraction | float | None, unit: str) -> str: ...

    def condition(self, text: str, unit: str) -> str: ...

    def status(self, name: str) -> str: ...

    def day(self, at: datetime, with_year: bool) -> str: ...

    def integer(self, value: int) -> str: ...


class _English:
    """Plain English, as the JSON result and the terminal show it."""

    def gettext(self, message: str) -> str:
        return message

    def value(self, value: Fraction | float | None, unit: str) -> str:
        return format_value(value, unit)

    def condition(self, text: str, unit: str) -> str:
        return format_condition(text, unit)

    def status(self, name: str) -> str:
        return name

    def day(self, at: datetime, with_year: bool) -> str:
        day = f"{at.day} {_MONTHS[at.month - 1]}"
        return f"{day} {at.year}" if with_year else day

    def integer(self, value: int) -> str:
        return str(value)


ENGLISH = _English()


def describe_forecast(forecast: Forecast, label: str = "", words: Wording = ENGLISH) -> str:
    """The sentence of a forecast, e.g. "Order Defect Rate 0.82% and rising: reaches breach
    (≥ 1.00%) in about 9 days at the current pace (low confidence: 40 orders in the window)".

    Every piece is a ``FORECAST_TEXT`` template filled from the forecast's own figures and
    worded by ``words``. Confidence is said unless it is high, with its reasons: an uncertain
    date must not read like a promise.
    """
    f = forecast

    def say(key: str, **values: str) -> str:
        return fill(words.gettext(FORECAST_TEXT[key]), values)

    items = words.gettext(f.items)
    known = {
        "value": words.value(f.value, f.unit),
        "direction": words.gettext(f.direction or ""),
        "items": items,
        "horizon": words.integer(f.horizon_days),
        "status": words.status(f.status_now),
        "trend": words.gettext(f.trend or ""),
    }
    head = say("head" if f.direction else "head_no_direction", **known)
    if label:
        head = f"{label} {head}"

    def when(days: int) -> str:
        return say("in_1_day") if days == 1 else say("in_days", days=words.integer(days))

    def joined(parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else say("both", first=parts[0], second=parts[1])

    if f.withheld:
        body = say("withheld")
    elif f.kind == "crossing" and f.steps:
        reached = [
            say(
                "crossing_step",
                status=words.status(s.status),
                threshold=words.condition(s.threshold, f.unit),
                when=when(s.days),
            )
            for s in f.steps
        ]
        body = say("crossing", steps=joined(reached))
    elif f.kind == "crossing":
        body = say("crossing_none", **known)
    elif f.steps:
        reached = [
            say(
                "recovery_step",
                status=words.status(s.status),
                date=words.day(s.at, s.at.year != (s.at - timedelta(days=s.days)).year),
            )
            for s in f.steps
        ]
        leaving = f.steps[-1].leaving
        key = "recovery" if leaving else "recovery_by_dilution"
        body = say(key, **known, steps=joined(reached), leaving=words.integer(leaving))
    else:
        body = say("recovery_none", **known)
    sentence = f"{head}: {body}"
    if f.confidence != "high":
        reasons = []
        for reason in f.reasons:
            code = reason.code
            if code == "few_checks" and reason.count in (0, 1):
                code = f"few_checks_{reason.count}"
            values = {
                "count": words.integer(reason.count or 0),
                "days": words.integer(reason.days or 0),
            }
            reasons.append(say(code, **{**known, **values}))
        level = words.gettext(f.confidence)
        if reasons:
            confidence = say("confidence", confidence=level, reasons="; ".join(reasons))
        else:
            confidence = say("confidence_no_reason", confidence=level)
        sentence += f" ({confidence})"
    return sentence
