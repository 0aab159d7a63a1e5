"""Results as JSON documents (``report-contract.md``, schema 1) and back: the form runs are
stored in and the one ``check --format json`` prints, so that any past run re-renders exactly.

Sentences are not this module's business: a forecast's ``text`` is filled by the ``describe``
function a caller passes (the reports' wording), and is left empty in stored runs, where it is
derived again when the run is read back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from fractions import Fraction
from typing import Any

from seller_health.model.forecast import Forecast, Reason, Step
from seller_health.model.results import AccountCheck, CheckResult, Note, Rolloff, RuleResult
from seller_health.timeutil import format_instant, parse_instant

SCHEMA = 1

# Words a forecast as a sentence, given the rule's title.
Describe = Callable[[Forecast, str], str]


def _number(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _exact(value: Fraction | None) -> str | None:
    return None if value is None else f"{value.numerator}/{value.denominator}"


def rule_document(
    result: RuleResult, *, exact: bool = False, describe: Describe | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "rule": result.rule,
        "title": result.title,
        "status": result.status,
        "value": _number(result.value),
        "numerator": result.numerator,
        "denominator": result.denominator,
        "window": {
            "start": format_instant(result.window_start),
            "end": format_instant(result.window_end),
        },
        "threshold": result.thresholds,
        "headroom": result.headroom,
        "steps": result.steps,
        "recovery": result.recovery,
        "evidence": result.evidence,
        "evidence_total": result.evidence_total,
        "message": result.message,
        "unit": result.unit,
        "pack": result.pack,
        "of": result.of,
        "items": result.items,
        "window_days": result.window_days,
        "message_template": result.template,
        "message_values": result.template_values,
    }
    if result.count is not None:
        doc["count"] = result.count
    if "p90" in result.extra or result.p90 is not None:
        doc["p90"] = _number(result.p90)
    if result.rolloff is not None:
        r = result.rolloff
        doc["rolloff"] = {
            "at": format_instant(r.at),
            "value": _number(r.value),
            "numerator": r.numerator,
            "denominator": r.denominator,
        }
        if r.count is not None:
            doc["rolloff"]["count"] = r.count
    if result.official is not None:
        doc["official"] = result.official
    if result.forecast is not None:
        doc["forecast"] = forecast_document(result.forecast, result.title, describe)
    if exact:
        doc["exact"] = {
            "value": _exact(result.value),
            "p90": _exact(result.p90),
            "rolloff": _exact(result.rolloff.value) if result.rolloff else None,
        }
    return doc


def forecast_document(
    forecast: Forecast, label: str = "", describe: Describe | None = None
) -> dict[str, Any]:
    """A forecast with its sentence (``text``) and every figure the sentence was made from.

    Values are exact without an ``exact`` block: each is a whole count, or a ratio of two whole
    counts that are stored beside it.
    """
    f = forecast
    return {
        "kind": f.kind,
        "direction": f.direction,
        "status": f.status,
        "at": format_instant(f.at) if f.at is not None else None,
        "days": f.days,
        "confidence": f.confidence,
        "reasons": [{"code": r.code, "count": r.count, "days": r.days} for r in f.reasons],
        "text": describe(f, label) if describe else None,
        "basis": f.basis,
        "status_now": f.status_now,
        "unit": f.unit,
        "items": f.items,
        "value": float(f.value),
        "numerator": f.numerator,
        "denominator": f.denominator,
        "count": f.count,
        "steps": [
            {
                "status": s.status,
                "days": s.days,
                "at": format_instant(s.at),
                "value": float(s.value),
                "numerator": s.numerator,
                "denominator": s.denominator,
                "count": s.count,
                "leaving": s.leaving,
                "arriving": s.arriving,
                "threshold": s.threshold,
            }
            for s in f.steps
        ],
        "horizon_days": f.horizon_days,
        "recent_days": f.recent_days,
        "recent_items": f.recent_items,
        "recent_bad": f.recent_bad,
        "trend": f.trend,
        "checks": f.checks,
        "withheld": f.withheld,
    }


def forecast_from_document(doc: dict[str, Any]) -> Forecast:
    """The inverse of :func:`forecast_document`; ``text`` and the headline keys are derived."""
    unit = doc["unit"]

    def value(numerator: int, denominator: int) -> Fraction:
        return Fraction(numerator) if unit == "count" else Fraction(numerator, denominator)

    return Forecast(
        kind=doc["kind"],
        status_now=doc["status_now"],
        unit=unit,
        items=doc["items"],
        numerator=doc["numerator"],
        denominator=doc["denominator"],
        count=doc["count"],
        direction=doc["direction"],
        steps=tuple(
            Step(
                status=s["status"],
                days=s["days"],
                at=parse_instant(s["at"]),
                value=value(s["numerator"], s["denominator"]),
                numerator=s["numerator"],
                denominator=s["denominator"],
                count=s["count"],
                leaving=s["leaving"],
                arriving=s["arriving"],
                threshold=s["threshold"],
            )
            for s in doc["steps"]
        ),
        confidence=doc["confidence"],
        reasons=tuple(Reason(r["code"], r["count"], r["days"]) for r in doc["reasons"]),
        basis=doc["basis"],
        horizon_days=doc["horizon_days"],
        recent_days=doc["recent_days"],
        recent_items=doc["recent_items"],
        recent_bad=doc["recent_bad"],
        trend=doc["trend"],
        checks=doc["checks"],
        withheld=doc["withheld"],
    )


def account_document(
    account: AccountCheck, *, exact: bool = False, describe: Describe | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "account_id": account.account_id,
        "marketplace": account.marketplace,
        "name": account.name,
        "status": account.status,
    }
    doc.update(account.extra)
    if account.notes:
        doc["notes"] = list(account.notes)
        doc["note_templates"] = [
            {"template": n.template, "values": n.values} if isinstance(n, Note) else None
            for n in account.notes
        ]
    doc["results"] = [rule_document(r, exact=exact, describe=describe) for r in account.results]
    return doc


def to_document(
    result: CheckResult, *, exact: bool = False, describe: Describe | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema": SCHEMA, "as_of": format_instant(result.as_of)}
    if result.run_id is not None:
        doc["run_id"] = result.run_id
    doc["accounts"] = [account_document(a, exact=exact, describe=describe) for a in result.accounts]
    return doc


def _fraction(exact: dict[str, Any], key: str, fallback: float | None) -> Fraction | None:
    text = exact.get(key)
    if text is not None:
        return Fraction(text)
    return None if fallback is None else Fraction(fallback)


def rule_from_document(doc: dict[str, Any]) -> RuleResult:
    exact = doc.get("exact", {})
    rolloff = None
    if "rolloff" in doc:
        r = doc["rolloff"]
        rolloff = Rolloff(
            at=parse_instant(r["at"]),
            value=_fraction(exact, "rolloff", r["value"]),
            numerator=r["numerator"],
            denominator=r["denominator"],
            count=r.get("count"),
        )
    result = RuleResult(
        rule=doc["rule"],
        title=doc["title"],
        pack=doc.get("pack", doc["rule"].split(".")[0]),
        status=doc["status"],
        unit=doc.get("unit", "number"),
        value=_fraction(exact, "value", doc["value"]),
        numerator=doc["numerator"],
        denominator=doc["denominator"],
        window_start=parse_instant(doc["window"]["start"]),
        window_end=parse_instant(doc["window"]["end"]),
        thresholds=doc["threshold"],
        headroom=doc["headroom"],
        steps=doc.get("steps", {}),  # runs stored before steps and recovery have neither
        recovery=doc.get("recovery", {}),
        evidence=doc["evidence"],
        evidence_total=doc.get("evidence_total", len(doc["evidence"])),
        message=doc["message"],
        count=doc.get("count"),
        p90=_fraction(exact, "p90", doc.get("p90")),
        rolloff=rolloff,
        official=doc.get("official"),
        of=doc.get("of", ""),
        items=doc.get("items", ""),
        window_days=doc.get("window_days"),
        template=doc.get("message_template", ""),
        template_values=doc.get("message_values", {}),
        forecast=forecast_from_document(doc["forecast"]) if "forecast" in doc else None,
    )
    if "p90" in doc:
        result.extra["p90"] = doc["p90"]
    return result


def _notes(account: dict[str, Any]) -> list[Note]:
    """Notes with their templates; a run stored before notes had them keeps its English text."""
    texts = account.get("notes", [])
    templates = account.get("note_templates") or [None] * len(texts)
    return [
        Note(part["template"], **part["values"]) if part else Note(text)
        for text, part in zip(texts, templates, strict=True)
    ]


def from_document(doc: dict[str, Any]) -> CheckResult:
    known = {"account_id", "marketplace", "name", "status", "results", "notes", "note_templates"}
    accounts = [
        AccountCheck(
            account_id=a["account_id"],
            marketplace=a["marketplace"],
            name=a.get("name"),
            status=a["status"],
            results=[rule_from_document(r) for r in a["results"]],
            extra={k: v for k, v in a.items() if k not in known},
            notes=_notes(a),
        )
        for a in doc["accounts"]
    ]
    as_of: datetime = parse_instant(doc["as_of"])
    return CheckResult(as_of=as_of, accounts=accounts, run_id=doc.get("run_id"))
