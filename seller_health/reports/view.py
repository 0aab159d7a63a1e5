"""What a report shows, worked out once for every format; templates only lay it out.

A :class:`Page` is built from a stored :class:`CheckResult` plus what the store knows around it
(the history of each rule, the records behind the evidence ids, the data sources), in the
reader's language. HTML, plain text and email all render the same page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from babel.numbers import format_currency
from sqlalchemy import Engine

from seller_health.engine.results import (
    STATUS_ORDER,
    AccountCheck,
    CheckResult,
    Note,
    RuleResult,
    worst,
)
from seller_health.engine.rules import Rule
from seller_health.engine.text import CONDITION, N_, describe_forecast, fill
from seller_health.reports.i18n import STATUS_LABELS, Localizer
from seller_health.store.history import Point, rule_history
from seller_health.store.records import (
    Moment,
    Source,
    account_profiles,
    data_sources,
    evidence_records,
    order_timelines,
    thread_timelines,
)

HEADLINES = {
    "ok": N_("Every measure is within the marketplace's limits."),
    "warn": N_("Some measures are close to the marketplace's limits."),
    "breach": N_("Some measures are past the marketplace's limits: act now."),
    "insufficient_data": N_("Too little data to judge this account yet."),
}
LEVELS = {
    "top_rated": N_("Top Rated"),
    "above_standard": N_("Above Standard"),
    "below_standard": N_("Below Standard"),
}
MARKETPLACES = {
    "amazon": "Amazon",
    "ebay": "eBay",
    "etsy": "Etsy",
    "walmart": "Walmart",
    "facebook": "Facebook",
    "other": N_("Other"),
}
EVENT_KINDS = {
    "feedback": N_("Feedback"),
    "review": N_("Review"),
    "a_to_z_claim": N_("A-to-z claim"),
    "chargeback": N_("Chargeback"),
    "return_request": N_("Return request"),
    "inr_case": N_("Item not received case"),
    "snad_case": N_("Not as described case"),
    "survey": N_("Survey"),
}
MOMENTS = {
    "purchased": N_("Purchased"),
    "ship_by": N_("Due to ship"),
    "shipped": N_("Shipped"),
    "deliver_by": N_("Due for delivery"),
    "delivered": N_("Delivered"),
    "cancelled": N_("Cancelled"),
    "refunded": N_("Refunded"),
    "resolved": N_("Resolved"),
    "in": N_("Buyer wrote"),
    "out": N_("Seller replied"),
}
_TREND_WIDTH, _TREND_HEIGHT, _PAD = 220, 56, 4
TREND_SPAN = timedelta(days=180)  # how far back trend charts look


# The page -------------------------------------------------------------------------------------


@dataclass
class Mark:
    status: str
    position: float  # percent of the track


@dataclass
class Bar:
    """The value on a track scaled to show the thresholds, as percentages of its width."""

    fill: float
    marks: list[Mark]


@dataclass
class Trend:
    """A small inline-SVG chart of past values: geometry only, drawn by the template."""

    width: int
    height: int
    line: str  # polyline points
    dots: list[tuple[float, float, str]]
    limits: list[tuple[float, str]]  # y of each threshold and its status
    summary: str  # the same in words, for readers whose mail client drops SVG


@dataclass
class Row:
    cells: list[str]
    timeline: list[str] = field(default_factory=list)


@dataclass
class Table:
    columns: list[str]
    rows: list[Row]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass
class Card:
    rule: str
    title: str
    description: str
    status: str
    status_label: str
    value: str
    thresholds: list[str]
    message: str
    window: str
    headroom: str | None
    rolloff: str | None
    official: str | None
    forecast: str | None
    bar: Bar | None
    trend: Trend | None
    evidence: Table | None
    actions: list[str]


@dataclass
class Change:
    title: str
    before: str
    after: str
    status: str
    worse: bool


@dataclass
class SourceRow:
    name: str
    records: str
    latest: str
    checked: str
    problem: str | None


@dataclass
class AccountView:
    account_id: str
    name: str
    marketplace: str
    status: str
    status_label: str
    headline: str
    level: str | None
    notes: list[str]
    cards: list[Card]
    changes: list[Change]
    counts: dict[str, int]
    sources: list[SourceRow]
    checked: str | None = None  # when its check is older than the page's: a stale account

    @property
    def attention(self) -> list[Card]:
        return [c for c in self.cards if c.status in ("warn", "breach")]

    @property
    def others(self) -> list[Card]:
        return [c for c in self.cards if c.status not in ("warn", "breach")]


@dataclass
class Page:
    kind: str  # account | digest | audit
    language: str
    title: str
    as_of: str
    as_of_iso: str
    accounts: list[AccountView]
    status: str
    status_label: str
    subject: str
    t: Localizer
    # A digest names its accounts not at risk, unchanged and current in one line: an agency with a
    # thousand shops reads the few that need it, and the email stays short.
    quiet: list[AccountView] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.accounts) + len(self.quiet)


# What the store adds to a result --------------------------------------------------------------


@dataclass
class Context:
    history: dict[tuple[str, str], list[Point]] = field(default_factory=dict)
    records: dict[tuple[str, str], dict[str, dict[str, Any]]] = field(default_factory=dict)
    timelines: dict[tuple[str, str], list[Moment]] = field(default_factory=dict)
    sources: dict[str, list[Source]] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: Mapping[str, Rule] = field(default_factory=dict)


def gather(
    engine: Engine,
    result: CheckResult,
    *,
    rules: Mapping[str, Rule] | None = None,
    evidence_rows: int | None = 10,
    audit: bool = False,
    history_limit: int = 30,
) -> Context:
    """Read everything the report of ``result`` shows besides the result itself."""
    ids = [a.account_id for a in result.accounts]
    ctx = Context(rules=rules or {})
    with engine.connect() as conn:
        ctx.history = rule_history(
            conn, ids, since=result.as_of - TREND_SPAN, until=result.as_of, limit=history_limit
        )
        ctx.profiles = account_profiles(conn, ids)
        for account in result.accounts:
            wanted: dict[str, set[str]] = {}
            for r in account.results:
                if r.evidence and r.of and r.status in ("warn", "breach"):
                    shown = r.evidence if evidence_rows is None else r.evidence[:evidence_rows]
                    wanted.setdefault(r.of, set()).update(shown)
            for of, record_ids in wanted.items():
                ctx.records[account.account_id, of] = evidence_records(
                    conn, account.account_id, of, sorted(record_ids), result.as_of
                )
            if audit:
                ctx.sources[account.account_id] = data_sources(
                    conn, account.account_id, result.as_of
                )
                _gather_timelines(conn, account.account_id, ctx, result.as_of)
    return ctx


def _gather_timelines(conn: Any, account_id: str, ctx: Context, as_of: datetime) -> None:
    orders: set[str] = set()
    threads: set[str] = set()
    for (owner, of), records in ctx.records.items():
        if owner != account_id:
            continue
        if of == "orders":
            orders.update(records)
        elif of == "events":
            orders.update(r["order_id"] for r in records.values() if r.get("order_id"))
        elif of in ("inbound_messages", "outbound_messages"):
            threads.update(r["thread_id"] for r in records.values())
        elif of == "threads":
            threads.update(records)
    for order_id, story in order_timelines(conn, account_id, sorted(orders), as_of).items():
        ctx.timelines[account_id, f"order:{order_id}"] = story
    for thread_id, story in thread_timelines(conn, account_id, sorted(threads), as_of).items():
        ctx.timelines[account_id, f"thread:{thread_id}"] = story


# Building the page ----------------------------------------------------------------------------


def build_page(
    result: CheckResult,
    ctx: Context,
    t: Localizer,
    *,
    kind: str = "account",
    evidence_rows: int | None = 10,
) -> Page:
    accounts = [
        account_view(a, ctx, t, evidence_rows=evidence_rows, audit=kind == "audit")
        for a in result.accounts
    ]
    for view, account in zip(accounts, result.accounts, strict=True):
        checked = max((r.window_end for r in account.results), default=result.as_of)
        if checked < result.as_of:
            view.checked = t.gettext("last checked {date}", date=t.datetime(checked))
    quiet: list[AccountView] = []
    if kind == "digest":
        accounts.sort(key=_worst_first)
        quiet = [a for a in accounts if _is_quiet(a)]
        accounts = [a for a in accounts if not _is_quiet(a)]
    status = worst([a.status for a in result.accounts])
    label = t.gettext(STATUS_LABELS[status])
    if kind == "digest":
        title = t.gettext("Seller health digest")
        failing = sum(a.status in ("warn", "breach") for a in accounts)
        total = len(accounts) + len(quiet)
        subject = t.ngettext(
            "[{status}] {n} account needs attention",
            "[{status}] {n} accounts need attention",
            failing,
            status=label,
        )
        if not failing:
            subject = t.gettext(
                "[{status}] All {n} accounts are healthy", status=label, n=t.integer(total)
            )
    else:
        name = accounts[0].name if accounts else ""
        title = (
            t.gettext("Audit pack: {name}", name=name)
            if kind == "audit"
            else t.gettext("Account health: {name}", name=name)
        )
        subject = t.gettext("[{status}] Account health: {name}", status=label, name=name)
    return Page(
        kind=kind,
        language=t.language,
        title=title,
        as_of=t.datetime(result.as_of, "long"),
        as_of_iso=result.as_of.isoformat(),
        accounts=accounts,
        status=status,
        status_label=label,
        subject=subject,
        t=t,
        quiet=quiet,
    )


def _is_quiet(account: AccountView) -> bool:
    at_risk = account.status in ("warn", "breach")
    return not (at_risk or account.changes or account.notes or account.checked)


def _worst_first(account: AccountView) -> tuple[int, int, str]:
    failing = account.counts.get("breach", 0) * 1000 + account.counts.get("warn", 0)
    return (-STATUS_ORDER[account.status], -failing, account.name.casefold())


def account_view(
    account: AccountCheck,
    ctx: Context,
    t: Localizer,
    *,
    evidence_rows: int | None = 10,
    audit: bool = False,
) -> AccountView:
    profile = ctx.profiles.get(account.account_id, {})
    name = account.name or profile.get("name") or account.account_id
    cards = [
        _card(account.account_id, r, ctx, t, evidence_rows=evidence_rows, audit=audit)
        for r in account.results
    ]
    cards.sort(key=lambda c: -STATUS_ORDER[c.status] if c.status in ("warn", "breach") else 0)
    counts: dict[str, int] = {}
    for r in account.results:
        counts[r.status] = counts.get(r.status, 0) + 1
    level = account.extra.get("level")
    return AccountView(
        account_id=account.account_id,
        name=name,
        marketplace=t.gettext(MARKETPLACES.get(account.marketplace, account.marketplace)),
        status=account.status,
        status_label=t.gettext(STATUS_LABELS[account.status]),
        headline=t.gettext(HEADLINES[account.status]),
        level=t.gettext(LEVELS[level]) if level in LEVELS else level,
        notes=[_note(note, t) for note in account.notes],
        cards=cards,
        changes=_changes(account, ctx, t),
        counts=counts,
        sources=[_source_row(s, t) for s in ctx.sources.get(account.account_id, [])],
    )


def _note(note: str, t: Localizer) -> str:
    """A data-quality note in the reader's language; one stored without its template as is."""
    if not isinstance(note, Note):
        return note
    values = {k: t.integer(v) if isinstance(v, int) else v for k, v in note.values.items()}
    return t.gettext(note.template, **values)


def _changes(account: AccountCheck, ctx: Context, t: Localizer) -> list[Change]:
    """Rules whose status differs from the previous run before this one."""
    changes = []
    for r in account.results:
        points = [
            p for p in ctx.history.get((account.account_id, r.rule), []) if p.as_of < r.window_end
        ]
        if not points or points[-1].status == r.status:
            continue
        before = points[-1].status
        changes.append(
            Change(
                title=t.gettext(r.title),
                before=t.gettext(STATUS_LABELS.get(before, before)),
                after=t.gettext(STATUS_LABELS[r.status]),
                status=r.status,
                worse=STATUS_ORDER[r.status] > STATUS_ORDER.get(before, 0),
            )
        )
    return changes


def _card(
    account_id: str,
    r: RuleResult,
    ctx: Context,
    t: Localizer,
    *,
    evidence_rows: int | None,
    audit: bool,
) -> Card:
    rule = ctx.rules.get(r.rule)
    failing = r.status in ("warn", "breach")
    return Card(
        rule=r.rule,
        title=t.gettext(r.title),
        description=t.gettext(rule.description) if rule and rule.description else "",
        status=r.status,
        status_label=t.gettext(STATUS_LABELS[r.status]),
        value=t.value(r.value, r.unit),
        thresholds=[
            f"{t.gettext(STATUS_LABELS[name])} {t.condition(text, r.unit)}"
            for name, text in r.thresholds.items()
        ],
        message=message(r, t),
        window=t.gettext(
            "{start} to {end}", start=t.date(r.window_start), end=t.date(r.window_end)
        ),
        headroom=headroom(r, t),
        rolloff=rolloff(r, t),
        official=official(r, t),
        forecast=describe_forecast(r.forecast, words=t) if r.forecast else None,
        # Drawn only where shown: healthy measures are a table row outside the audit pack.
        bar=bar(r) if failing or audit else None,
        trend=trend(ctx.history.get((account_id, r.rule), []), r, t) if failing or audit else None,
        evidence=_evidence(account_id, r, ctx, t, evidence_rows, audit) if failing else None,
        actions=[t.gettext(a) for a in rule.actions] if rule and failing else [],
    )


# Sentences ------------------------------------------------------------------------------------


def message(r: RuleResult, t: Localizer) -> str:
    """The result's message in the reader's language, from its template and raw values."""
    if not r.template:
        return r.message
    fields: dict[str, str] = {}
    for key, value in r.template_values.items():
        if value is None:
            fields[key] = t.gettext("n/a")
        elif isinstance(value, int):
            fields[key] = t.integer(value)
        else:
            fields[key] = t.gettext(str(value))
    fields["value"] = t.value(r.value, r.unit)
    fields["p90"] = t.value(r.p90, r.unit)
    return fill(t.gettext(r.template), fields)


def _next_status(r: RuleResult) -> str:
    return "warn" if r.status == "ok" and "warn" in r.thresholds else "breach"


def headroom(r: RuleResult, t: Localizer) -> str | None:
    """How many more failures the status absorbs ("3 more failures would move it to Breach")."""
    if r.headroom is None:
        return None
    if r.headroom < 0:
        return t.ngettext(
            "Back to OK with one failure fewer.",
            "Back to OK with {n} failures fewer.",
            -r.headroom,
        )
    following = t.gettext(STATUS_LABELS[_next_status(r)])
    if r.headroom == 0:
        return t.gettext("No headroom: the next failure moves it to {status}.", status=following)
    return t.ngettext(
        "One more failure would move it to {status}.",
        "{n} more failures would move it to {status}.",
        r.headroom,
        status=following,
    )


def rolloff(r: RuleResult, t: Localizer) -> str | None:
    if r.rolloff is None:
        return None
    return t.gettext(
        "The oldest failure leaves the window on {date}; the value would then be {value}.",
        date=t.date(r.rolloff.at, "long"),
        value=t.value(r.rolloff.value, r.unit),
    )


def official(r: RuleResult, t: Localizer) -> str | None:
    if not r.official or r.official.get("value") is None:
        return None
    figure = t.value(Fraction(str(r.official["value"])), r.unit)
    target = r.official.get("target")
    fetched = r.official.get("fetched_at")
    when = t.date(datetime.fromisoformat(fetched.replace("Z", "+00:00"))) if fetched else "?"
    if target is None:
        return t.gettext(
            "The marketplace reports {value} (fetched {date}).", value=figure, date=when
        )
    return t.gettext(
        "The marketplace reports {value} against its target {target} (fetched {date}).",
        value=figure,
        target=t.value(Fraction(str(target)), r.unit),
        date=when,
    )


# Pictures -------------------------------------------------------------------------------------


def _limits(r: RuleResult) -> list[tuple[str, Fraction]]:
    found = []
    for name, text in r.thresholds.items():
        match = CONDITION.search(text)
        if match:
            found.append((name, Fraction(match.group(2))))
    return found


def _top(values: Sequence[Fraction], unit: str) -> Fraction:
    top = max(values, default=Fraction(0)) * Fraction(5, 4)
    if unit == "ratio" and all(v <= 1 for v in values):
        top = min(top, Fraction(1))
    return top or Fraction(1)


def bar(r: RuleResult) -> Bar | None:
    limits = _limits(r)
    if r.value is None or not limits:
        return None
    top = _top([abs(r.value), *(abs(v) for _, v in limits)], r.unit)
    fill_ = float(min(abs(r.value) / top, Fraction(1)) * 100)
    marks = [Mark(name, round(float(abs(v) / top * 100), 1)) for name, v in limits]
    return Bar(round(fill_, 1), marks)


def trend(points: Sequence[Point], r: RuleResult, t: Localizer) -> Trend | None:
    """Past values of the rule (this run included) on a time axis, thresholds as lines."""
    known = [p for p in points if p.value is not None]
    if len(known) < 2:
        return None
    limits = _limits(r)
    top = float(_top([Fraction(abs(p.value)) for p in known] + [abs(v) for _, v in limits], r.unit))
    start, end = known[0].as_of.timestamp(), known[-1].as_of.timestamp()
    span = (end - start) or 1.0
    width, height = _TREND_WIDTH - 2 * _PAD, _TREND_HEIGHT - 2 * _PAD

    def x(p: Point) -> float:
        return round(_PAD + (p.as_of.timestamp() - start) / span * width, 1)

    def y(value: float) -> float:
        return round(_PAD + height - min(abs(value) / top, 1.0) * height, 1)

    dots = [(x(p), y(p.value), p.status) for p in known]  # type: ignore[arg-type]
    summary = t.gettext(
        "{n} checks from {start} to {end}: {first} then {last}",
        n=t.integer(len(known)),
        start=t.date(known[0].as_of),
        end=t.date(known[-1].as_of),
        first=t.value(Fraction(known[0].value), r.unit),  # type: ignore[arg-type]
        last=t.value(Fraction(known[-1].value), r.unit),  # type: ignore[arg-type]
    )
    return Trend(
        width=_TREND_WIDTH,
        height=_TREND_HEIGHT,
        line=" ".join(f"{a},{b}" for a, b, _ in dots),
        dots=dots,
        limits=[(y(float(v)), name) for name, v in limits],
        summary=summary,
    )


# Evidence -------------------------------------------------------------------------------------


def _when(value: datetime | None, t: Localizer) -> str:
    return t.short_datetime(value) if value is not None else "—"


def _money(record: dict[str, Any], t: Localizer) -> str:
    if record.get("total") is None:
        return "—"
    currency = record.get("currency")
    if not currency:
        return t.number(record["total"])
    return format_currency(record["total"], currency, locale=t.locale)


def _evidence(
    account_id: str,
    r: RuleResult,
    ctx: Context,
    t: Localizer,
    limit: int | None,
    audit: bool,
) -> Table | None:
    if not r.evidence:
        return None
    records = ctx.records.get((account_id, r.of), {})
    shown = r.evidence if limit is None else r.evidence[:limit]
    columns, cells = _LAYOUTS.get(r.of, _LAYOUTS["orders"])
    rows = []
    for record_id in shown:
        record = records.get(record_id)
        if record is None:
            rows.append(Row([record_id] + [t.gettext("(no longer stored)")]))
            continue
        row = Row(cells(record_id, record, t))
        if audit:
            row.timeline = _timeline(account_id, r.of, record_id, record, ctx, t)
        rows.append(row)
    return Table([t.gettext(c) for c in columns], rows, r.evidence_total)


def _order_cells(record_id: str, o: dict[str, Any], t: Localizer) -> list[str]:
    cancelled = _when(o["cancelled_at"], t)
    if o["cancelled_at"] is not None and o.get("cancelled_by"):
        cancelled += f" ({o['cancelled_by']})"
    return [
        record_id,
        _when(o["purchased_at"], t),
        _when(o["ship_by"], t),
        _when(o["shipped_at"], t),
        _when(o["delivered_at"], t),
        cancelled,
        _money(o, t),
    ]


def _event_cells(record_id: str, e: dict[str, Any], t: Localizer) -> list[str]:
    details = []
    if e.get("rating") is not None:
        details.append(t.gettext("rating {n}", n=e["rating"]))
    if e.get("status"):
        details.append(str(e["status"]))
    if e.get("closed_without_seller_resolution"):
        details.append(t.gettext("closed without seller resolution"))
    return [
        record_id,
        t.gettext(EVENT_KINDS.get(e["kind"], e["kind"])),
        _when(e["occurred_at"], t),
        e.get("order_id") or "—",
        ", ".join(details) or "—",
    ]


def _message_cells(record_id: str, m: dict[str, Any], t: Localizer) -> list[str]:
    return [
        record_id,
        m["thread_id"],
        _when(m["sent_at"], t),
        m.get("order_id") or "—",
        _when(m.get("replied_at"), t) if m.get("replied_at") else t.gettext("no reply"),
    ]


def _thread_cells(record_id: str, th: dict[str, Any], t: Localizer) -> list[str]:
    return [
        record_id,
        _when(th["started_at"], t),
        t.integer(th["messages"]),
        _when(th["last_at"], t),
        _when(th["resolved_at"], t),
    ]


def _buyer_cells(record_id: str, b: dict[str, Any], t: Localizer) -> list[str]:
    return [
        record_id,
        t.integer(b["orders"]),
        _when(b["first_purchase"], t),
        _when(b["last_purchase"], t),
    ]


_LAYOUTS: dict[str, tuple[list[str], Any]] = {
    "orders": (
        [
            N_("Order"),
            N_("Purchased"),
            N_("Ship by"),
            N_("Shipped"),
            N_("Delivered"),
            N_("Cancelled"),
            N_("Total"),
        ],
        _order_cells,
    ),
    "events": ([N_("Event"), N_("Kind"), N_("When"), N_("Order"), N_("Details")], _event_cells),
    "inbound_messages": (
        [N_("Message"), N_("Conversation"), N_("Received"), N_("Order"), N_("First reply")],
        _message_cells,
    ),
    "outbound_messages": (
        [N_("Message"), N_("Conversation"), N_("Sent"), N_("Order"), N_("Next reply")],
        _message_cells,
    ),
    "threads": (
        [N_("Conversation"), N_("Started"), N_("Messages"), N_("Last message"), N_("Resolved")],
        _thread_cells,
    ),
    "buyers": (
        [N_("Buyer"), N_("Orders"), N_("First purchase"), N_("Last purchase")],
        _buyer_cells,
    ),
}


def _timeline(
    account_id: str, of: str, record_id: str, record: dict[str, Any], ctx: Context, t: Localizer
) -> list[str]:
    if of == "orders":
        key = f"order:{record_id}"
    elif of == "events" and record.get("order_id"):
        key = f"order:{record['order_id']}"
    elif of in ("inbound_messages", "outbound_messages"):
        key = f"thread:{record['thread_id']}"
    elif of == "threads":
        key = f"thread:{record_id}"
    else:
        return []
    return [_moment(m, t) for m in ctx.timelines.get((account_id, key), [])]


def _moment(m: Moment, t: Localizer) -> str:
    when = t.short_datetime(m.at)
    if m.what == "event":
        what = t.gettext(EVENT_KINDS.get(m.detail.get("kind", ""), m.detail.get("kind", "")))
        if m.detail.get("rating") is not None:
            what += " · " + t.gettext("rating {n}", n=m.detail["rating"])
        if m.detail.get("status"):
            what += f" · {m.detail['status']}"
    elif m.what == "message":
        direction = str(m.detail.get("direction"))
        what = t.gettext(MOMENTS[direction]) if direction in MOMENTS else direction
        if m.detail.get("automated"):
            what += " · " + t.gettext("automatic")
    else:
        what = t.gettext(MOMENTS.get(m.what, m.what))
        if m.detail.get("by"):
            what += f" ({m.detail['by']})"
    return f"{when} — {what}"


def _source_row(s: Source, t: Localizer) -> SourceRow:
    kind, _, detail = s.name.partition(":")
    names = {
        "orders": N_("Orders"),
        "messages": N_("Buyer messages"),
        "events": N_("Feedback, claims and returns"),
        "sync": N_("Sync of {what}"),
        "official": N_("Marketplace figures ({what})"),
        "quarantine": N_("Unreadable records ({what})"),
    }
    name = t.gettext(names.get(kind, s.name), what=detail) if kind in names else s.name
    return SourceRow(
        name=name,
        records="—" if s.records is None else t.integer(s.records),
        latest=_when(s.latest, t),
        checked=_when(s.checked_at, t),
        problem=s.problem,
    )
