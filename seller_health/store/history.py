"""Check runs and their results, kept so that any past run can be re-rendered and trended."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select

from seller_health.engine.results import CheckResult
from seller_health.reports.json import account_document, from_document, rule_document
from seller_health.store.models import AccountResult, CheckRun, RuleResult
from seller_health.timeutil import format_instant, utcnow

RUNS, ACCOUNTS, RULES = CheckRun.__table__, AccountResult.__table__, RuleResult.__table__


def save_run(engine: Engine, result: CheckResult) -> int:
    """Store ``result`` as a new run in one transaction; returns and sets its ``run_id``."""
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(RUNS)
            .values(
                as_of=result.as_of, started_at=utcnow(), finished_at=utcnow(), rules=result.rules
            )
            .returning(RUNS.c.run_id)
        ).scalar_one()
        accounts, rules = [], []
        for account in result.accounts:
            doc = account_document(account, exact=True)
            doc.pop("results")
            accounts.append(
                {
                    "run_id": run_id,
                    "account_id": account.account_id,
                    "marketplace": account.marketplace,
                    "status": account.status,
                    "extra": doc,
                }
            )
            for rule in account.results:
                rules.append(
                    {
                        "run_id": run_id,
                        "account_id": account.account_id,
                        "rule_id": rule.rule,
                        "status": rule.status,
                        "value": None if rule.value is None else float(rule.value),
                        "numerator": rule.numerator,
                        "denominator": rule.denominator,
                        "headroom": rule.headroom,
                        "payload": rule_document(rule, exact=True),
                    }
                )
        if accounts:
            conn.execute(insert(ACCOUNTS), accounts)
        if rules:
            conn.execute(insert(RULES), rules)
    result.run_id = run_id
    return run_id


def load_run(engine: Engine, run_id: int) -> CheckResult:
    with engine.connect() as conn:
        run = conn.execute(select(RUNS).where(RUNS.c.run_id == run_id)).one_or_none()
        if run is None:
            raise LookupError(f"no check run {run_id}")
        accounts = conn.execute(
            select(ACCOUNTS.c.account_id, ACCOUNTS.c.extra)
            .where(ACCOUNTS.c.run_id == run_id)
            .order_by(ACCOUNTS.c.account_id)
        ).all()
        payloads: dict[str, list[dict]] = {a.account_id: [] for a in accounts}
        for account_id, payload in conn.execute(
            select(RULES.c.account_id, RULES.c.payload).where(RULES.c.run_id == run_id)
        ):
            payloads[account_id].append(payload)
    order = {rule_id: i for i, rule_id in enumerate(run.rules)}
    doc = {
        "as_of": format_instant(run.as_of),
        "run_id": run_id,
        "accounts": [
            {
                **extra,
                "results": sorted(
                    payloads[account_id], key=lambda p: order.get(p["rule"], 1 << 30)
                ),
            }
            for account_id, extra in accounts
        ],
    }
    result = from_document(doc)
    result.rules = list(run.rules)
    return result


@dataclass(frozen=True)
class Point:
    """One past result of one rule for one account."""

    run_id: int
    as_of: datetime
    status: str
    value: float | None


def rule_history(
    conn: Connection,
    account_ids: Sequence[str],
    *,
    rule_ids: Sequence[str] | None = None,
    until: datetime | None = None,
    limit: int = 30,
) -> dict[tuple[str, str], list[Point]]:
    """The last ``limit`` results of each (account, rule) with ``as_of <= until``, oldest first.

    A moment checked more than once (a re-run) counts once, with its latest run. One query for
    any number of accounts: reports for a thousand accounts read their trends together.
    """
    runs = (
        select(
            RULES.c.account_id,
            RULES.c.rule_id,
            RULES.c.run_id,
            RULES.c.status,
            RULES.c.value,
            RUNS.c.as_of,
            func.row_number()
            .over(
                partition_by=(RULES.c.account_id, RULES.c.rule_id, RUNS.c.as_of),
                order_by=RULES.c.run_id.desc(),
            )
            .label("rerun"),
        )
        .join(RUNS, RUNS.c.run_id == RULES.c.run_id)
        .where(RULES.c.account_id.in_(list(account_ids)))
    )
    if rule_ids is not None:
        runs = runs.where(RULES.c.rule_id.in_(list(rule_ids)))
    if until is not None:
        runs = runs.where(RUNS.c.as_of <= until)
    latest = runs.subquery()
    ranked = (
        select(
            latest,
            func.row_number()
            .over(
                partition_by=(latest.c.account_id, latest.c.rule_id),
                order_by=latest.c.as_of.desc(),
            )
            .label("age"),
        )
        .where(latest.c.rerun == 1)
        .subquery()
    )
    rows = conn.execute(
        select(ranked)
        .where(ranked.c.age <= limit)
        .order_by(ranked.c.account_id, ranked.c.rule_id, ranked.c.as_of)
    )
    series: dict[tuple[str, str], list[Point]] = defaultdict(list)
    for row in rows:
        series[row.account_id, row.rule_id].append(
            Point(row.run_id, row.as_of, row.status, row.value)
        )
    return dict(series)
