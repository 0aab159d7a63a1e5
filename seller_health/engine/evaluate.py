"""Evaluates rules for accounts at an explicit ``as_of``.

Counting happens in SQL, grouped queries per rule and window length that the rule's metric kind
runs (``engine/metrics.py``); Python only receives per-account aggregates, the capped evidence
and, for medians, the one or two middle values.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from fractions import Fraction

from sqlalchemy import BigInteger, Connection, Engine, func, select, type_coerce

from seller_health.engine.calendar import install
from seller_health.engine.context import DEFAULT_EVIDENCE_LIMIT, Evaluation
from seller_health.engine.forecast_sql import rule_forecast
from seller_health.engine.metrics import Aggregate, metric_kind, status_of
from seller_health.engine.pack import Pack, Qualification, Rule
from seller_health.engine.recordsets import Rows, build
from seller_health.engine.sql import Compiler
from seller_health.engine.text import describe
from seller_health.engine.thresholds import steps_and_recovery
from seller_health.engine.wording import PLAIN
from seller_health.model.results import (
    N_,
    AccountCheck,
    CheckResult,
    Note,
    Rolloff,
    RuleResult,
    worst,
)
from seller_health.store.accounts import stored_accounts
from seller_health.store.models import Quarantined, SyncBookmark
from seller_health.store.types import MONEY_SCALE
from seller_health.timeutil import MICROS_PER_DAY, format_instant, from_micros


def evaluate(
    engine: Engine | Connection,
    packs: Sequence[Pack],
    as_of: datetime,
    account_ids: Iterable[str] | None = None,
    *,
    evidence_limit: int = DEFAULT_EVIDENCE_LIMIT,
) -> CheckResult:
    """Score accounts (all, or ``account_ids``) against the packs that apply to them."""
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return evaluate(conn, packs, as_of, account_ids, evidence_limit=evidence_limit)
    conn = engine
    wanted = None if account_ids is None else list(account_ids)
    accounts = {a.account_id: a for a in stored_accounts(conn, wanted)}
    if wanted is not None:
        missing = sorted(set(wanted) - set(accounts))
        if missing:
            raise LookupError(f"no such account: {', '.join(missing)}")
    ev = Evaluation(conn, as_of, accounts, evidence_limit)
    by_account: dict[str, list[RuleResult]] = defaultdict(list)
    extras: dict[str, dict[str, object]] = defaultdict(dict)
    for pack in packs:
        ids = [a.account_id for a in accounts.values() if pack.applies(a.marketplace)]
        if not ids:
            continue
        pack_results: dict[str, list[RuleResult]] = defaultdict(list)
        for rule in pack.rules:
            for account_id, result in evaluate_rule(ev, rule, ids).items():
                pack_results[account_id].append(result)
        if pack.gate is not None:
            unmet = qualification_gaps(ev, pack.gate, ids)
            for account_id, gaps in unmet.items():
                if gaps:
                    for result in pack_results[account_id]:
                        _ineligible(result, gaps)
        if pack.levels:
            for account_id, level in _levels(ev, pack, ids, pack_results).items():
                extras[account_id][pack.level_key] = level
        for account_id in ids:
            by_account[account_id].extend(pack_results[account_id])
    notes = data_quality_notes(conn, list(accounts))
    checks = [
        AccountCheck(
            account_id=a.account_id,
            marketplace=a.marketplace,
            name=a.name,
            status=worst([r.status for r in by_account[a.account_id]]),
            results=by_account[a.account_id],
            extra=extras[a.account_id],
            notes=notes.get(a.account_id, []),
        )
        for a in accounts.values()
    ]
    rule_ids = list(dict.fromkeys(rule.id for pack in packs for rule in pack.rules))
    return CheckResult(as_of=as_of, accounts=checks, rules=rule_ids)


def data_quality_notes(conn: Connection, accounts: list[str]) -> dict[str, list[Note]]:
    """What a reader must know before trusting the figures: quarantined records, dead sources."""
    notes: dict[str, list[Note]] = defaultdict(list)
    quarantine, bookmarks = Quarantined.__table__, SyncBookmark.__table__
    counts = conn.execute(
        select(quarantine.c.account_id, quarantine.c.stream, func.count())
        .where(quarantine.c.account_id.in_(accounts))
        .group_by(quarantine.c.account_id, quarantine.c.stream)
    )
    for account_id, stream, n in counts:
        notes[account_id].append(
            Note(
                N_("{count} {stream} record(s) from the marketplace could not be read"),
                count=n,
                stream=stream,
            )
        )
    for account_id, stream, pending in conn.execute(
        select(bookmarks.c.account_id, bookmarks.c.stream, bookmarks.c.pending).where(
            bookmarks.c.account_id.in_(accounts)
        )
    ):
        if pending and "refused" in pending:
            template = N_("{stream}: needs re-authorisation: {refused}")
            notes[account_id].append(Note(template, stream=stream, refused=pending["refused"]))
        elif pending and pending.get("finding"):
            template = N_("{stream}: {finding}")
            notes[account_id].append(Note(template, stream=stream, finding=pending["finding"]))
    return notes


# --- one rule -----------------------------------------------------------------------------


def window_days(ev: Evaluation, rule: Rule, accounts: Sequence[str]) -> dict[int, list[str]]:
    """Group accounts by the window length the rule uses for them (eBay's 3 or 12 months)."""
    if rule.fallback_days is None or rule.min_orders is None:
        return {rule.window_days: list(accounts)}
    counts = ev.orders_between(accounts, rule.window_days)
    groups: dict[int, list[str]] = defaultdict(list)
    for account_id in accounts:
        long = counts.get(account_id, 0) < rule.min_orders
        groups[rule.fallback_days if long else rule.window_days].append(account_id)
    return groups


def evaluate_rule(ev: Evaluation, rule: Rule, accounts: Sequence[str]) -> dict[str, RuleResult]:
    results: dict[str, RuleResult] = {}
    for days, group in window_days(ev, rule, accounts).items():
        start = ev.t - days * MICROS_PER_DAY
        rows = build(rule.of, group, ev.t, start, rule.window_by)
        clock = install(ev.conn, rule.business_hours, ev.as_of) if rule.business_hours else None
        compiler = Compiler(rows, ev.t, lambda: ev.currencies, clock)
        aggregates = metric_kind(rule.metric).aggregate(ev, rule, rows, compiler, group)
        for account_id in group:
            agg = aggregates.get(account_id, Aggregate())
            results[account_id] = _judge(ev, rule, rows, compiler, account_id, agg, days)
    return results


# --- judgement ----------------------------------------------------------------------------


def _judge(
    ev: Evaluation,
    rule: Rule,
    rows: Rows,
    compiler: Compiler,
    account_id: str,
    agg: Aggregate,
    days: int,
) -> RuleResult:
    rule = ev.rule_for(rule, account_id)
    kind = metric_kind(rule.metric)
    numerator = (agg.numerator or 0) if kind.numerator else None
    result = RuleResult(
        rule=rule.id,
        title=rule.title,
        pack=rule.pack,
        status="insufficient_data",
        unit=kind.unit_of(rule),
        value=None,
        numerator=numerator,
        denominator=agg.denominator,
        window_start=from_micros(ev.t - days * MICROS_PER_DAY),
        window_end=ev.as_of,
        thresholds=rule.threshold_texts(),
        headroom=None,
        evidence=agg.evidence,
        evidence_total=agg.evidence_total,
        message="",
        count=agg.count if agg.count is not None or rule.count is None else 0,
        p90=agg.p90,
        of=rule.of,
        items=rule.items,
        window_days=days,
    )
    if rule.percentile:
        result.extra[f"p{rule.percentile}"] = None
    official = ev.official.get((account_id, rule.id))
    if official:
        result.official = {
            key: official[key]
            for key in ("value", "target", "status", "numerator", "denominator", "source")
        } | {
            key: format_instant(official[key]) if official[key] else None
            for key in ("window_start", "window_end", "fetched_at")
        }
    unknown = (
        rule.fields & ev.unknown_fields.get(account_id, set()) if rule.of == "orders" else set()
    )
    if unknown:
        result.template = N_(
            "cannot be computed from synced data: the marketplace's API does not report {fields}"
        )
        result.template_values = {"fields": ", ".join(sorted(unknown))}
        result.message = PLAIN.message(result)
        return result
    if agg.denominator < max(rule.min_sample, 1) or agg.value is None:
        result.message = describe(rule, result, days)
        return result
    result.value = agg.value
    result.status = status_of(rule, agg.value, agg.count)
    reference = rule.reference
    if reference is not None and kind.headroom is not None:
        result.headroom = kind.headroom(rule, reference, agg)
    if kind.steps:
        limits = rule.limits(counts=result.unit == "count")
        bad = limits.bad(agg.denominator, agg.numerator or 0)
        result.steps, result.recovery = steps_and_recovery(limits, agg.denominator, bad, agg.count)
    if kind.rolloff and result.status in ("warn", "breach") and agg.oldest_bad is not None:
        den, num, cnt = agg.rolloff_counts
        result.rolloff = Rolloff(
            at=from_micros(agg.oldest_bad + days * MICROS_PER_DAY),
            value=Fraction(num, den) if den else None,
            numerator=num,
            denominator=den,
            count=cnt,
        )
    if kind.forecasts(rule):
        result.forecast = rule_forecast(rule, agg, days, ev.as_of, result.status, result.unit)
    result.message = describe(rule, result, days)
    return result


# --- eligibility and levels ---------------------------------------------------------------


def qualification_gaps(
    ev: Evaluation, spec: Qualification, accounts: Sequence[str]
) -> dict[str, list[str]]:
    """Per account, the unmet conditions of ``spec`` in words (empty when qualified)."""
    start = ev.t - spec.window_days * MICROS_PER_DAY
    rows = build("orders", accounts, ev.t, start, "purchased_at")
    compiler = Compiler(rows, ev.t, lambda: ev.currencies)
    filters = list(rows.conditions)
    if spec.orders_where is not None:
        filters.append(compiler.predicate(spec.orders_where))
    query = (
        select(
            rows.account_id,
            func.count(),
            type_coerce(func.sum(func.coalesce(rows.field("total"), 0)), BigInteger),
        )
        .select_from(rows.source)
        .where(*filters)
        .group_by(rows.account_id)
    )
    found = {a: (int(n), Fraction(int(s or 0), MONEY_SCALE)) for a, n, s in ev.conn.execute(query)}
    gaps: dict[str, list[str]] = {}
    for account_id in accounts:
        n, sales = found.get(account_id, (0, Fraction(0)))
        missing: list[str] = []
        if n < spec.min_orders:
            missing.append(
                f"needs at least {spec.min_orders} orders in {spec.window_days} days (has {n})"
            )
        currency = ev.currencies.get(account_id)
        needed = spec.sales_threshold(currency)
        if needed is not None and sales < needed:
            amount = f"{_money(needed)} {currency or ''}".strip()
            days = spec.window_days
            missing.append(f"needs sales of {amount} in {days} days (has {_money(sales)})")
        if spec.min_account_age_days:
            earliest = ev.earliest_purchase.get(account_id)
            if earliest is None or earliest > ev.t - spec.min_account_age_days * MICROS_PER_DAY:
                missing.append(f"first order is less than {spec.min_account_age_days} days old")
        gaps[account_id] = missing
    return gaps


def _money(amount: Fraction) -> str:
    return f"{float(amount):,.2f}"


def _ineligible(result: RuleResult, gaps: list[str]) -> None:
    result.status = "insufficient_data"
    result.value = None
    result.headroom = None
    result.rolloff = None
    result.forecast = None
    result.steps, result.recovery = {}, {}  # as for any result without a status to move
    result.template = N_("Not eligible: {gaps}")
    result.template_values = {"gaps": "; ".join(gaps)}
    result.message = PLAIN.message(result)


def _levels(
    ev: Evaluation, pack: Pack, accounts: list[str], results: dict[str, list[RuleResult]]
) -> dict[str, str | None]:
    """Each account's level: the first of the pack's levels whose conditions it meets."""
    gaps = {
        i: qualification_gaps(ev, level.qualify, accounts)
        for i, level in enumerate(pack.levels)
        if level.qualify is not None
    }
    chosen: dict[str, str | None] = {}
    for account_id in accounts:
        statuses = Counter(r.status for r in results[account_id])
        chosen[account_id] = next(
            (
                level.level
                for i, level in enumerate(pack.levels)
                if (not level.if_any_status or any(statuses[s] for s in level.if_any_status))
                and not any(statuses[s] for s in level.unless_any_status)
                and not (i in gaps and gaps[i][account_id])
            ),
            None,
        )
    return chosen
