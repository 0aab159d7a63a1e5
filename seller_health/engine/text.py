"""The message of each result: the template it is worded from and the raw values that fill it.

Both are stored beside the English message, so a report rewords it in its reader's language; the
words are ``engine/wording.py``'s, the same for the stored English and for every report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seller_health.engine.metrics import metric_kind
from seller_health.engine.wording import PLAIN
from seller_health.model.results import N_

if TYPE_CHECKING:
    from seller_health.engine.pack import Rule
    from seller_health.model.results import RuleResult


def describe(rule: Rule, result: RuleResult, days: int) -> str:
    """The English message of a result; sets ``result.template`` and its values on the way
    (``{value}`` and ``{p90}`` come from the result itself)."""
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
    else:
        template = rule.message or metric_kind(rule.metric).template_of(rule)
    result.template, result.template_values = template, values
    return PLAIN.message(result)
