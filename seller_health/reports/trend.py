"""``seller-health history``: how one account's rules moved over its stored check runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from seller_health.engine.wording import PLAIN
from seller_health.reports.sparkline import sparkline
from seller_health.reports.text import LABELS
from seller_health.store.accounts import account_profiles
from seller_health.store.history import rule_history
from seller_health.store.models import RuleResult
from seller_health.timeutil import format_instant

RULES = RuleResult.__table__


@dataclass(frozen=True)
class Run:
    """One stored result of one rule, with what the table shows beside the value."""

    run_id: int
    as_of: datetime
    status: str
    value: float | None
    numerator: int | None
    denominator: int | None
    unit: str


def account_trend(
    engine: Engine, account_id: str, rule_id: str | None = None, *, limit: int = 30
) -> dict[str, list[Run]]:
    """The last ``limit`` runs of each rule of the account (or of ``rule_id``), oldest first.

    Raises LookupError for an account the store does not know, or a rule it has no result of.
    """
    with engine.connect() as conn:
        if not account_profiles(conn, [account_id]):
            raise LookupError(f"no such account in the store: {account_id}")
        series = rule_history(
            conn, [account_id], rule_ids=None if rule_id is None else [rule_id], limit=limit
        )
        run_ids = {point.run_id for points in series.values() for point in points}
        details = (
            {
                (row.run_id, row.rule_id): row
                for row in conn.execute(
                    select(
                        RULES.c.run_id,
                        RULES.c.rule_id,
                        RULES.c.numerator,
                        RULES.c.denominator,
                        RULES.c.payload["unit"].as_string().label("unit"),
                    ).where(RULES.c.account_id == account_id, RULES.c.run_id.in_(run_ids))
                )
            }
            if run_ids
            else {}
        )
    if rule_id is not None and not series:
        raise LookupError(f"no stored result of rule {rule_id} for account {account_id}")
    trend: dict[str, list[Run]] = {}
    for (_, rule), points in sorted(series.items()):
        runs = []
        for point in points:
            row = details.get((point.run_id, rule))
            runs.append(
                Run(
                    point.run_id,
                    point.as_of,
                    point.status,
                    point.value,
                    row.numerator if row else None,
                    row.denominator if row else None,
                    (row.unit if row else None) or "number",
                )
            )
        trend[rule] = runs
    return trend


def _fraction(run: Run) -> str:
    if run.numerator is None or run.denominator is None:
        return ""
    return f"{run.numerator}/{run.denominator}"


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def render_rule_trend(account_id: str, rule_id: str, runs: list[Run]) -> str:
    """A table of the rule's runs, newest last, under its sparkline."""
    lines = [
        f"{account_id} {rule_id}: {len(runs)} run(s)",
        f"trend  {sparkline([run.value for run in runs])}",
        "",
    ]
    rows = [
        [
            format_instant(run.as_of),
            LABELS.get(run.status, run.status),
            PLAIN.value(run.value, run.unit),
            _fraction(run),
        ]
        for run in runs
    ]
    lines += _table(["as of", "status", "value", "of"], rows, right={2, 3})
    return "\n".join(lines) + "\n"


def render_account_trend(account_id: str, trend: dict[str, list[Run]]) -> str:
    """One line per rule: its sparkline, its latest value and status."""
    if not trend:
        return f"{account_id}: no check run stored yet\n"
    runs = max(len(r) for r in trend.values())
    rows = []
    for rule_id, series in trend.items():
        latest = series[-1]
        rows.append(
            [
                rule_id,
                sparkline([run.value for run in series]).rjust(runs),
                PLAIN.value(latest.value, latest.unit),
                LABELS.get(latest.status, latest.status),
            ]
        )
    header = ["rule", "trend", "latest", "status"]
    lines = [f"{account_id}: {len(trend)} rule(s), up to {runs} run(s)", ""]
    return "\n".join(lines + _table(header, rows, right={2})) + "\n"
