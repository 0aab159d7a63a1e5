"""Check runs and their results, kept so that any past run can be re-rendered and trended."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, func, insert, select

from seller_health.model.document import account_document, from_document, rule_document
from seller_health.model.results import CheckResult, worst
from seller_health.store.models import AccountResult, CheckRun, RuleResult
from seller_health.store.records import newest_instants
from seller_health.timeutil import utcnow

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


def load_run(engine: Engine, run_id: int, account_ids: Sequence[str] | None = None) -> CheckResult:
    """Run ``run_id`` as it was checked (only ``account_ids`` of it, when given)."""
    with engine.connect() as conn:
        run = conn.execute(select(RUNS).where(RUNS.c.run_id == run_id)).one_or_none()
        if run is None:
            raise LookupError(f"no check run {run_id}")
        query = select(ACCOUNTS.c.account_id).where(ACCOUNTS.c.run_id == run_id)
        if account_ids is not None:
            query = query.where(ACCOUNTS.c.account_id.in_(list(account_ids)))
        pairs = [(run_id, account_id) for account_id in conn.execute(query).scalars()]
        result = _load(conn, pairs)
    result.as_of = run.as_of
    result.run_id = run_id
    result.rules = list(run.rules)
    return result


def load_latest(engine: Engine, account_ids: Sequence[str]) -> CheckResult:
    """The latest result of each account, whichever run it came from (schedules differ per
    account); ``as_of`` is the newest among them. Accounts never checked are left out."""
    with engine.connect() as conn:
        # Latest by the moment checked, not by run id: a backfilled past check comes later.
        ranked = (
            select(
                ACCOUNTS.c.account_id,
                ACCOUNTS.c.run_id,
                func.row_number()
                .over(
                    partition_by=ACCOUNTS.c.account_id,
                    order_by=(RUNS.c.as_of.desc(), ACCOUNTS.c.run_id.desc()),
                )
                .label("rank"),
            )
            .join(RUNS, RUNS.c.run_id == ACCOUNTS.c.run_id)
            .where(ACCOUNTS.c.account_id.in_(list(account_ids)))
            .subquery()
        )
        latest = select(ranked.c.account_id, ranked.c.run_id).where(ranked.c.rank == 1)
        pairs = [(row.run_id, row.account_id) for row in conn.execute(latest)]
        result = _load(conn, pairs)
        if pairs:
            runs = select(RUNS.c.run_id, RUNS.c.as_of, RUNS.c.rules).where(
                RUNS.c.run_id.in_({run_id for run_id, _ in pairs})
            )
            found = conn.execute(runs).all()
            result.as_of = max(row.as_of for row in found)
            result.run_id = max(row.run_id for row in found)
            result.rules = list(dict.fromkeys(r for row in found for r in row.rules))
    return result


def _load(conn: Connection, pairs: Sequence[tuple[int, str]]) -> CheckResult:
    """Accounts' results from the given (run, account) pairs, rules in the order checked."""
    documents = []
    for run_id, account_id in sorted(pairs, key=lambda pair: pair[1]):
        extra = conn.execute(
            select(ACCOUNTS.c.extra).where(
                ACCOUNTS.c.run_id == run_id, ACCOUNTS.c.account_id == account_id
            )
        ).scalar_one()
        rules = conn.execute(select(RUNS.c.rules).where(RUNS.c.run_id == run_id)).scalar_one()
        order = {rule_id: i for i, rule_id in enumerate(rules)}
        payloads = conn.execute(
            select(RULES.c.payload).where(
                RULES.c.run_id == run_id, RULES.c.account_id == account_id
            )
        ).scalars()
        documents.append(
            {
                **extra,
                "results": sorted(payloads, key=lambda p: order.get(p["rule"], 1 << 30)),
            }
        )
    return from_document({"as_of": "1970-01-01T00:00:00Z", "accounts": documents})


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
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 30,
) -> dict[tuple[str, str], list[Point]]:
    """The last ``limit`` results of each (account, rule) with ``since <= as_of <= until``,
    oldest first. ``since`` keeps the cost flat as runs pile up over the years.

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
    if since is not None:
        runs = runs.where(RUNS.c.as_of >= since)
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


@dataclass(frozen=True)
class RunSummary:
    """One stored run as ``runs list`` shows it: enough to pick the one to report or delete."""

    run_id: int
    as_of: datetime
    started_at: datetime
    accounts: int
    status: str  # the worst of its accounts'
    # The newest record of its accounts before ``as_of``: what the run could see. None when
    # none had a record then; an import since can move it (records are not versioned).
    data_until: datetime | None


@dataclass(frozen=True)
class RunAccount:
    """One account of a run: its status and the rules that warned or breached."""

    account_id: str
    marketplace: str
    status: str
    failing: list[tuple[str, str]]  # (rule id, status), breaches first


FAILING = ("breach", "warn")


def list_runs(
    conn: Connection,
    *,
    account_ids: Sequence[str] | None = None,
    run_ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> list[RunSummary]:
    """Stored runs, newest first (by run id: the order they were made, whatever their
    ``as_of``); only those that checked one of ``account_ids``, or those of ``run_ids``.

    Three queries however many runs: the data time is one index probe per account and kind.
    """
    runs = select(RUNS.c.run_id, RUNS.c.as_of, RUNS.c.started_at).order_by(RUNS.c.run_id.desc())
    if account_ids is not None:
        runs = runs.where(
            RUNS.c.run_id.in_(
                select(ACCOUNTS.c.run_id).where(ACCOUNTS.c.account_id.in_(list(account_ids)))
            )
        )
    if run_ids is not None:
        runs = runs.where(RUNS.c.run_id.in_(list(run_ids)))
    if limit is not None:
        runs = runs.limit(limit)
    found = conn.execute(runs).all()
    if not found:
        return []
    ids = [row.run_id for row in found]
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for run_id, status, count in conn.execute(
        select(ACCOUNTS.c.run_id, ACCOUNTS.c.status, func.count())
        .where(ACCOUNTS.c.run_id.in_(ids))
        .group_by(ACCOUNTS.c.run_id, ACCOUNTS.c.status)
    ):
        counts[run_id][status] = count
    per_account = (
        select(
            ACCOUNTS.c.run_id,
            *(
                at.label(f"at{i}")
                for i, at in enumerate(newest_instants(ACCOUNTS.c.account_id, RUNS.c.as_of))
            ),
        )
        .join(RUNS, RUNS.c.run_id == ACCOUNTS.c.run_id)
        .where(ACCOUNTS.c.run_id.in_(ids))
        .subquery()
    )
    newest = select(
        per_account.c.run_id, *(func.max(c) for c in per_account.c if c.name != "run_id")
    ).group_by(per_account.c.run_id)
    data_until = {
        run_id: max((at for at in instants if at is not None), default=None)
        for run_id, *instants in conn.execute(newest)
    }
    return [
        RunSummary(
            row.run_id,
            row.as_of,
            row.started_at,
            sum(counts[row.run_id].values()),
            worst(list(counts[row.run_id])),
            data_until.get(row.run_id),
        )
        for row in found
    ]


def run_accounts(conn: Connection, run_id: int) -> list[RunAccount]:
    """The accounts of run ``run_id`` in id order, each with its failing rules; raises
    ``LookupError`` naming a run that is not stored."""
    if conn.execute(select(RUNS.c.run_id).where(RUNS.c.run_id == run_id)).first() is None:
        raise LookupError(f"no check run {run_id}")
    failing: dict[str, list[tuple[str, str]]] = defaultdict(list)
    rules = select(RULES.c.account_id, RULES.c.rule_id, RULES.c.status).where(
        RULES.c.run_id == run_id, RULES.c.status.in_(FAILING)
    )
    for account_id, rule_id, status in conn.execute(rules):
        failing[account_id].append((rule_id, status))
    accounts = (
        select(ACCOUNTS.c.account_id, ACCOUNTS.c.marketplace, ACCOUNTS.c.status)
        .where(ACCOUNTS.c.run_id == run_id)
        .order_by(ACCOUNTS.c.account_id)
    )
    return [
        RunAccount(
            row.account_id,
            row.marketplace,
            row.status,
            sorted(failing[row.account_id], key=lambda r: (FAILING.index(r[1]), r[0])),
        )
        for row in conn.execute(accounts)
    ]


def delete_runs(engine: Engine, run_ids: Sequence[int]) -> int:
    """Delete runs with their account and rule results, all or none (one transaction): a
    run checked on the wrong data must not stay "the latest" of reports and email. Raises
    ``LookupError`` naming the ids that are not stored, deleting nothing; returns the number of
    account results deleted."""
    ids = sorted(set(run_ids))
    with engine.begin() as conn:
        known = set(conn.execute(select(RUNS.c.run_id).where(RUNS.c.run_id.in_(ids))).scalars())
        unknown = [str(run_id) for run_id in ids if run_id not in known]
        if unknown:
            raise LookupError(f"no check run {', '.join(unknown)}")
        conn.execute(delete(RULES).where(RULES.c.run_id.in_(ids)))
        accounts = conn.execute(delete(ACCOUNTS).where(ACCOUNTS.c.run_id.in_(ids))).rowcount
        conn.execute(delete(RUNS).where(RUNS.c.run_id.in_(ids)))
    return accounts
