"""The terminal view of a check, in the reader's language with compact figures ("1.25%", "4h 05m")
and ISO 8601 moments, statuses in colour when the output is a terminal.

It is read in a terminal of any width, so nothing is laid out for a fixed one: the accounts come
worst first, one line each, then only the rules needing attention. A rule's row keeps as many
columns as the width holds; the rest follow on indented lines below it rather than every row
wrapping into narrow columns.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from seller_health.engine.wording import N_, SOURCE_LANGUAGE, Localizer, localizer, steps_in_words
from seller_health.model.results import AccountCheck, CheckResult, RuleResult

STYLES = {"breach": "bold red", "warn": "yellow", "ok": "green", "insufficient_data": "dim"}
LABELS = {
    "breach": N_("BREACH"),
    "warn": N_("WARN"),
    "ok": N_("ok"),
    "insufficient_data": N_("no data"),
}
# Worst first: a seller reads the top of the output, so what needs action comes there.
ACCOUNT_ORDER = {"breach": 0, "warn": 1, "insufficient_data": 2, "ok": 3}
ATTENTION = ("breach", "warn")
GAP = "  "
INDENT = 2  # a rule under its account
CONTINUED = 4  # what a rule's row could not hold, below it
MIN_DETAILS = 40  # narrower than this, a message reads better on its own line
MIN_RULE_SHOWN = 16  # "first: " and the failing rule, shortened no further than this


def status_text(status: str, t: Localizer) -> Text:
    label = t.gettext(LABELS[status]) if status in LABELS else status
    return Text(label, style=STYLES.get(status, ""))


def _thresholds(result: RuleResult, t: Localizer) -> str:
    shown = (
        f"{t.status(name)} {t.condition(text, result.unit)}"
        for name, text in result.thresholds.items()
    )
    return ", ".join(shown) or "—"


def _details(result: RuleResult, t: Localizer, *, rolloff: bool) -> Text:
    details = Text(t.message(result))
    if rolloff and result.rolloff is not None:
        r = result.rolloff
        then = t.gettext(
            "oldest bad item leaves the window {at}; then {value}",
            at=t.instant(r.at),
            value=t.value(r.value, result.unit),
        )
        details.append(f"; {then}")
    return details


def _evidence(result: RuleResult, t: Localizer) -> Text:
    """Every id the result holds (``--evidence-limit`` has already capped them), and how many
    there are in all when that is more."""
    total = result.evidence_total
    if not result.evidence:
        return Text(t.gettext("no evidence ids"))
    if len(result.evidence) < total:
        head = t.ngettext(
            "{n} item as evidence, {shown} listed:",
            "{n} items as evidence, {shown} listed:",
            total,
            shown=t.integer(len(result.evidence)),
        )
    else:
        head = t.ngettext("{n} item as evidence:", "{n} items as evidence:", total)
    return Text(f"{head} {', '.join(result.evidence)}")


def _counts(account: AccountCheck, t: Localizer) -> tuple[str, str]:
    """The number of rules, and how many are in each status, the failing first: ("19 rules:",
    "1 breach, 1 not judged, 17 ok")."""
    by_status = {name: 0 for name in ("breach", "warn", "insufficient_data", "ok")}
    for r in account.results:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    words = {
        "breach": lambda n: t.ngettext("{n} breach", "{n} breaches", n),
        "warn": lambda n: t.ngettext("{n} at risk", "{n} at risk", n),
        "insufficient_data": lambda n: t.ngettext("{n} not judged", "{n} not judged", n),
        "ok": lambda n: t.ngettext("{n} ok", "{n} ok", n),
    }
    parts = [words[name](n) for name, n in by_status.items() if n and name in words]
    return t.ngettext("{n} rule:", "{n} rules:", len(account.results)), ", ".join(parts)


def _attention(account: AccountCheck) -> list[RuleResult]:
    """The rules in breach, then those at risk, each in the pack's order."""
    return [r for status in ATTENTION for r in account.results if r.status == status]


def _summary(account: AccountCheck, t: Localizer, label_width: int, width: int) -> Text:
    """The account on one line, shortened to the width rather than wrapped. What goes first is
    what the lines below or the rule ids already say: the name, the number of rules, the
    marketplace; then the first failing rule is cut. The status, id and counts always stay."""
    status = status_text(account.status, t)
    status.pad_right(label_width - status.cell_len)
    name = f" ({account.name})" if account.name else ""
    name += "".join(f"  {key}: {value}" for key, value in account.extra.items())
    failing = _attention(account)
    first = t.gettext("first: {rule}", rule=failing[0].rule) if failing else ""
    total, counts = _counts(account, t)

    def line(name: str, marketplace: str, total: str, first: str) -> Text:
        text = Text.assemble(status, GAP, (account.account_id, "bold"), name)
        for part in (marketplace, f"{total} {counts}".strip(), first):
            if part:
                text.append(GAP + part)
        return text

    market = account.marketplace
    for candidate in (
        line(name, market, total, first),
        line("", market, total, first),
        line("", market, "", first),
        line("", "", "", first),
    ):
        if candidate.cell_len <= width:
            return candidate
    room = width - line("", "", "", "").cell_len - len(GAP)
    shortest = line("", "", "", first if room >= MIN_RULE_SHOWN else "")
    shortest.truncate(width, overflow="ellipsis")
    return shortest


@dataclass
class _Row:
    cells: list[Text]  # rule, status, value, thresholds, steps
    details: list[Text]  # message (and roll-off), evidence: prose, wrapped


RIGHT = {2}  # the value column


def _row(result: RuleResult, t: Localizer, *, rolloff: bool, evidence: bool) -> _Row:
    cells = [
        Text(result.rule),
        status_text(result.status, t),
        Text(t.value(result.value, result.unit)),
        Text(_thresholds(result, t)),
        Text(steps_in_words(result, t)),
    ]
    details = [_details(result, t, rolloff=rolloff)]
    if evidence:
        details.append(_evidence(result, t))
    return _Row(cells, details)


def _packed(cells: list[Text], width: int) -> list[Text]:
    """Short cells that did not fit the row share lines ("breach ≥ 1.00% · 1 fewer → ok"), so a
    narrow terminal adds as few lines as it can."""
    lines: list[Text] = []
    for cell in cells:
        if lines and lines[-1].cell_len + 3 + cell.cell_len <= width:
            lines[-1].append(" · ").append_text(cell)
        else:
            lines.append(cell.copy())
    return lines


def _print_rows(console: Console, rows: list[_Row], widths: list[int], width: int) -> None:
    """Rows aligned as one table across the whole output (``widths``, so accounts line up),
    keeping as many columns as the width holds; the columns that do not fit, and the message
    unless it has room to the right, go on lines of their own below each row."""
    inline, used = 0, INDENT
    for i, w in enumerate(widths):
        needed = w + (len(GAP) if i else 0)
        if i and used + needed > width:  # the rule always starts the row
            break
        inline, used = i + 1, used + needed
    details_inline = inline == len(widths) and width - used - len(GAP) >= MIN_DETAILS
    for row in rows:
        line = Text(" " * INDENT)
        for i in range(inline):
            cell = row.cells[i].copy()
            if i in RIGHT:
                cell.pad_left(widths[i] - cell.cell_len)
            elif i < inline - 1 or details_inline:  # no padding at the end of a line
                cell.pad_right(widths[i] - cell.cell_len)
            line.append_text(cell if i == 0 else Text(GAP).append_text(cell))
        below = _packed([cell for cell in row.cells[inline:] if cell.plain], width - CONTINUED)
        if details_inline:
            offset = used + len(GAP)
            wrapped = row.details[0].wrap(console, width - offset)
            line.append(GAP)
            line.append_text(wrapped[0] if wrapped else Text())
            console.print(line.rstrip() or line, no_wrap=True, crop=False)
            for more in list(wrapped)[1:]:
                more.rstrip()
                console.print(Text(" " * offset).append_text(more), no_wrap=True, crop=False)
            below += row.details[1:]
        else:
            line.rstrip()
            console.print(line, no_wrap=True, overflow="ellipsis")
            below += row.details
        for text in below:
            for wrapped_line in text.wrap(console, width - CONTINUED):
                wrapped_line.rstrip()
                console.print(Text(" " * CONTINUED).append_text(wrapped_line), no_wrap=True)


def render_text(
    result: CheckResult,
    *,
    language: str = SOURCE_LANGUAGE,
    timezone: str = "UTC",
    color: bool = False,
    width: int = 80,
    details: bool = False,
    rule: str | None = None,
) -> str:
    """The check for a terminal ``width`` columns wide, worded for a reader of ``language`` with
    moments in ``timezone``: accounts worst first with a summary line each, then the rules
    needing attention; with ``details`` every rule; with ``rule`` that rule alone, with its
    evidence ids, for each account that has it.

    Raises LookupError for a language without a catalog, an unknown time zone, or a ``rule``
    no account has.
    """
    t = localizer(language, timezone, compact=True)
    if rule is not None and not any(r.rule == rule for a in result.accounts for r in a.results):
        raise LookupError(f"no selected account has the rule {rule!r}")
    buffer = io.StringIO()
    console = Console(
        file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False
    )
    console.print(t.gettext("seller-health check as of {as_of}", as_of=t.instant(result.as_of)))
    accounts = sorted(
        result.accounts,
        key=lambda a: (ACCOUNT_ORDER.get(a.status, len(ACCOUNT_ORDER)), a.account_id),
    )
    if rule is not None:
        accounts = [a for a in accounts if any(r.rule == rule for r in a.results)]
    label_width = max((status_text(a.status, t).cell_len for a in accounts), default=0)
    shown = {
        a.account_id: (
            [r for r in a.results if r.rule == rule]
            if rule is not None
            else a.results
            if details
            else _attention(a)
        )
        for a in accounts
    }
    full = details or rule is not None
    rows = {
        account_id: [_row(r, t, rolloff=full, evidence=rule is not None) for r in rules]
        for account_id, rules in shown.items()
    }
    everything = [row for listed in rows.values() for row in listed]
    widths = [max((row.cells[i].cell_len for row in everything), default=0) for i in range(5)]
    for account in accounts:
        console.print()
        console.print(_summary(account, t, label_width, width), no_wrap=True, crop=False)
        for note in account.notes:
            text = Text("  " + t.gettext("note: {note}", note=escape(t.note(note))))
            console.print(text)
        _print_rows(console, rows[account.account_id], widths, width)
    return buffer.getvalue()
