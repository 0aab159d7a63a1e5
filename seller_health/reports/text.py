"""A readable terminal table per account, statuses in colour when the output is a terminal, in the
reader's language with compact figures ("1.25%", "4h 05m") and ISO 8601 moments."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from seller_health.engine.wording import N_, SOURCE_LANGUAGE, Localizer, localizer
from seller_health.model.results import CheckResult, RuleResult

STYLES = {"breach": "bold red", "warn": "yellow", "ok": "green", "insufficient_data": "dim"}
LABELS = {
    "breach": N_("BREACH"),
    "warn": N_("WARN"),
    "ok": N_("ok"),
    "insufficient_data": N_("no data"),
}


def status_text(status: str, t: Localizer) -> Text:
    label = t.gettext(LABELS[status]) if status in LABELS else status
    return Text(label, style=STYLES.get(status, ""))


def _threshold(result: RuleResult, t: Localizer) -> str:
    shown = (
        f"{t.status(name)} {t.condition(text, result.unit)}"
        for name, text in result.thresholds.items()
    )
    return "\n".join(shown) or "—"


def _details(result: RuleResult, t: Localizer) -> Text:
    details = Text(t.message(result))
    if result.rolloff is not None:
        r = result.rolloff
        then = t.gettext(
            "oldest bad item leaves the window {at}; then {value}",
            at=t.instant(r.at),
            value=t.value(r.value, result.unit),
        )
        details.append(f"\n{then}")
    return details


def _headroom(result: RuleResult, t: Localizer) -> str:
    if result.headroom is None:
        return ""
    shown = t.integer(result.headroom)
    return f"+{shown}" if result.headroom > 0 else shown


def render_text(
    result: CheckResult,
    *,
    language: str = SOURCE_LANGUAGE,
    timezone: str = "UTC",
    color: bool = False,
    width: int = 140,
) -> str:
    """The check as tables, worded for a reader of ``language`` with moments in ``timezone``.

    Raises LookupError for a language without a catalog or an unknown time zone.
    """
    t = localizer(language, timezone, compact=True)
    buffer = io.StringIO()
    console = Console(
        file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False
    )
    console.print(t.gettext("seller-health check as of {as_of}", as_of=t.instant(result.as_of)))
    for account in result.accounts:
        title = Text.assemble(
            (account.account_id, "bold"),
            f" ({account.marketplace}" + (f", {account.name}" if account.name else "") + ")  ",
            status_text(account.status, t),
        )
        for key, value in account.extra.items():
            title.append(f"  {key}: {value}")
        console.print()
        console.print(title)
        for note in account.notes:
            console.print("  " + t.gettext("note: {note}", note=escape(t.note(note))))
        table = Table(show_header=True, header_style="bold", show_edge=False, pad_edge=False)
        table.add_column(t.gettext("rule"))
        table.add_column(t.gettext("status"))
        table.add_column(t.gettext("value"), justify="right")
        table.add_column(t.gettext("threshold"))
        table.add_column(t.gettext("headroom"), justify="right")
        table.add_column(t.gettext("details"), overflow="fold")
        for rule in account.results:
            table.add_row(
                rule.rule,
                status_text(rule.status, t),
                t.value(rule.value, rule.unit),
                _threshold(rule, t),
                _headroom(rule, t),
                _details(rule, t),
            )
        console.print(table)
    return buffer.getvalue()
