"""A readable terminal table per account, statuses in colour when the output is a terminal."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from seller_health.engine.text import format_condition, format_value
from seller_health.model.results import CheckResult, RuleResult
from seller_health.timeutil import format_instant

STYLES = {"breach": "bold red", "warn": "yellow", "ok": "green", "insufficient_data": "dim"}
LABELS = {"breach": "BREACH", "warn": "WARN", "ok": "ok", "insufficient_data": "no data"}


def status_text(status: str) -> Text:
    return Text(LABELS.get(status, status), style=STYLES.get(status, ""))


def _threshold(result: RuleResult) -> str:
    shown = (
        f"{name} {format_condition(text, result.unit)}" for name, text in result.thresholds.items()
    )
    return "\n".join(shown) or "—"


def _details(result: RuleResult) -> Text:
    details = Text(result.message)
    if result.rolloff is not None:
        r = result.rolloff
        then = format_value(r.value, result.unit)
        details.append(f"\noldest bad item leaves the window {format_instant(r.at)}; then {then}")
    return details


def _headroom(result: RuleResult) -> str:
    if result.headroom is None:
        return ""
    return f"+{result.headroom}" if result.headroom > 0 else str(result.headroom)


def render_text(result: CheckResult, *, color: bool = False, width: int = 140) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False
    )
    console.print(f"seller-health check as of {format_instant(result.as_of)}")
    for account in result.accounts:
        title = Text.assemble(
            (account.account_id, "bold"),
            f" ({account.marketplace}" + (f", {account.name}" if account.name else "") + ")  ",
            status_text(account.status),
        )
        for key, value in account.extra.items():
            title.append(f"  {key}: {value}")
        console.print()
        console.print(title)
        for note in account.notes:
            console.print(f"  note: {escape(note)}")
        table = Table(show_header=True, header_style="bold", show_edge=False, pad_edge=False)
        table.add_column("rule")
        table.add_column("status")
        table.add_column("value", justify="right")
        table.add_column("threshold")
        table.add_column("headroom", justify="right")
        table.add_column("details", overflow="fold")
        for rule in account.results:
            table.add_row(
                rule.rule,
                status_text(rule.status),
                format_value(rule.value, rule.unit),
                _threshold(rule),
                _headroom(rule),
                _details(rule),
            )
        console.print(table)
    return buffer.getvalue()
