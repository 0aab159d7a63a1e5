"""``seller-health rules``: a pack's thresholds and overrides in the units a seller reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from seller_health.engine.metrics import metric_kind
from seller_health.engine.pack import Pack, Rule
from seller_health.engine.rules import apply_overrides
from seller_health.engine.wording import PLAIN


def threshold_words(rule: Rule) -> dict[str, str]:
    """A rule's thresholds in its unit, as the check's table shows them ("≥ 1.00%",
    "> 4h 00m", "> 20"): a listing in raw fractions and seconds reads as other numbers."""
    unit = metric_kind(rule.metric).unit_of(rule)
    return {name: PLAIN.condition(text, unit) for name, text in rule.threshold_texts().items()}


def override_words(pack: Pack, rule_id: str, known: Iterable[Pack]) -> list[str]:
    """What one ``overrides:`` entry of ``pack`` changes, in the words of :func:`threshold_words`
    (the overridden rule of ``known`` says the unit); an entry for a rule no pack of ``known``
    defines keeps its conditions as written."""
    override = pack.overrides[rule_id]
    target = next((p for p in known if any(r.id == rule_id for r in p.rules)), None)
    rule = None
    if target is not None:
        single = replace(pack, overrides={rule_id: override})
        patched = apply_overrides([target], [single])[0]
        rule = next(r for r in patched.rules if r.id == rule_id)
    changed = override.model_fields_set
    words: list[str] = []
    shown = threshold_words(rule) if rule is not None else {}
    for name in ("breach", "warn"):
        if name not in changed:
            continue
        raw = getattr(override, name)
        if raw is None:
            words.append(f"no {name}")
        elif name in shown:
            words.append(f"{name} {shown[name]}")
        else:  # the rule is unknown: as written
            written = (
                raw if isinstance(raw, str) else " and ".join(f"{k} {v}" for k, v in raw.items())
            )
            words.append(f"{name} {written}")
    if override.title is not None:
        words.append(f"title {override.title!r}")
    if override.window_days is not None:
        words.append(f"window {override.window_days} d")
    if override.min_sample is not None:
        words.append(f"min_sample {override.min_sample}")
    hours = override.business_hours
    if hours is not None:
        holidays = f", {hours.holidays} holidays" if hours.holidays else ""
        days = ", ".join(hours.days)
        words.append(f"business hours {days} {hours.hours} {hours.timezone}{holidays}")
    if override.actions is not None:
        words.append(f"{len(override.actions)} corrective action(s)")
    if "for_" in changed:
        delay = override.for_
        after = "at once" if delay is None else f"after {PLAIN.duration(delay.total_seconds())}"
        words.append(f"alerts {after}")
    if target is None:
        words.append("(no installed pack defines this rule)")
    return words
