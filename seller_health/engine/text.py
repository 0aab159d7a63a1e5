"""Plain-language values and the one-line message of each result."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seller_health.engine.forecast import Forecast
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
# The English pieces of a forecast's sentence, in one place. Not marked for the catalogs yet:
# translation will wrap these (each keeps its {placeholders}) and rebuild the sentence from the
# forecast's own figures, exactly as describe_forecast does. Reasons are keyed by Reason.code.
FORECAST_TEXT = {
    "head": "{value} and {direction}",
    "head_no_direction": "{value}",
    "in_1_day": "in about 1 day",
    "in_days": "in about {days} days",
    "date": "{day} {month}",
    "date_other_year": "{day} {month} {year}",
    "withheld": "no date can be projected",
    "crossing_step": "{status} ({threshold}) {when}",
    "crossing": "reaches {steps} at the current pace",
    "crossing_none": "stays {status} for the next {horizon} days at the current pace",
    "recovery_step": "to {status} on {date}",
    "recovery": (
        "recovers {steps} as {leaving} bad {items} leave the window, if no new bad {items} arrive"
    ),
    "recovery_by_dilution": (
        "recovers {steps} as new {items} dilute the bad ones, if no new bad {items} arrive"
    ),
    "recovery_none": "does not recover within {horizon} days, even if no new bad {items} arrive",
    "confidence": "{confidence} confidence: {reasons}",
    "confidence_no_reason": "{confidence} confidence",
    "few_items": "{count} {items} in the window",
    "no_recent_items": "no new {items} in the last {days} days",
    "few_recent_bad": "the pace rests on {count} bad {items} in the last {days} days",
    "recent_bad": "new bad {items} still arriving ({count} in the last {days} days)",
    "few_checks": "only {count} earlier checks to confirm the trend",
    "few_checks_0": "no earlier check to confirm the trend",
    "few_checks_1": "only 1 earlier check to confirm the trend",
    "noisy_history": "earlier checks go up and down",
    "history_disagrees": "earlier checks show it {trend}",
    "far_ahead": "more than {days} days ahead",
}


def describe_forecast(forecast: Forecast, label: str = "") -> str:
    """The English sentence of a forecast, e.g. "Order Defect Rate 0.82% and rising: reaches
    breach (≥ 1.00%) in about 9 days at the current pace (low confidence: 40 orders in the
    window)".

    Every piece is a ``FORECAST_TEXT`` template filled from the forecast's own figures, so a
    translated report can rebuild the same sentence piece by piece. Confidence is said unless
    it is high, with its reasons: an uncertain date must not read like a promise.
    """
    f, text = forecast, FORECAST_TEXT
    known = {
        "value": format_value(f.value, f.unit),
        "direction": f.direction or "",
        "items": f.items,
        "horizon": str(f.horizon_days),
        "status": f.status_now,
        "trend": f.trend or "",
    }
    head = fill(text["head"] if f.direction else text["head_no_direction"], known)
    if label:
        head = f"{label} {head}"

    def when(days: int) -> str:
        return fill(text["in_1_day"] if days == 1 else text["in_days"], {"days": str(days)})

    def date(at: datetime, days: int) -> str:
        parts = {"day": str(at.day), "month": _MONTHS[at.month - 1], "year": str(at.year)}
        same_year = at.year == (at - timedelta(days=days)).year  # the year of the check
        return fill(text["date"] if same_year else text["date_other_year"], parts)

    if f.withheld:
        body = text["withheld"]
    elif f.kind == "crossing" and f.steps:
        reached = [
            fill(
                text["crossing_step"],
                {
                    "status": s.status,
                    "threshold": format_condition(s.threshold, f.unit),
                    "when": when(s.days),
                },
            )
            for s in f.steps
        ]
        body = fill(text["crossing"], {"steps": " and ".join(reached)})
    elif f.kind == "crossing":
        body = fill(text["crossing_none"], known)
    elif f.steps:
        reached = [
            fill(text["recovery_step"], {"status": s.status, "date": date(s.at, s.days)})
            for s in f.steps
        ]
        leaving = f.steps[-1].leaving
        template = text["recovery"] if leaving else text["recovery_by_dilution"]
        body = fill(template, {**known, "steps": " and ".join(reached), "leaving": str(leaving)})
    else:
        body = fill(text["recovery_none"], known)
    sentence = f"{head}: {body}"
    if f.confidence != "high":
        reasons = []
        for reason in f.reasons:
            code = reason.code
            if code == "few_checks" and reason.count in (0, 1):
                code = f"few_checks_{reason.count}"
            values = {"count": str(reason.count), "days": str(reason.days)}
            reasons.append(fill(text.get(code, code), {**known, **values}))
        confidence = fill(
            text["confidence"] if reasons else text["confidence_no_reason"],
            {"confidence": f.confidence, "reasons": "; ".join(reasons)},
        )
        sentence += f" ({confidence})"
    return sentence
