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

from seller_health.engine.pack import Rule
from seller_health.engine.predicates import (
    All,
    AnyOf,
    Compare,
    HasEvent,
    Is,
    Not,
    Predicate,
    Present,
    fields_read,
)
from seller_health.engine.recordsets import IGNORED_EVENT_STATUSES
from seller_health.engine.wording import (
    CONDITION,
    N_,
    STATUS_LABELS,
    Localizer,
    describe_forecast,
    named_steps,
)
from seller_health.model.marketplaces import title as marketplace_title
from seller_health.model.results import (
    STATUS_ORDER,
    AccountCheck,
    CheckResult,
    RuleResult,
    worst,
)
from seller_health.reports.email import one_line
from seller_health.store.accounts import account_profiles
from seller_health.store.history import Point, rule_history
from seller_health.store.records import (
    Moment,
    Source,
    data_sources,
    evidence_records,
    order_events,
    order_timelines,
    thread_timelines,
)

HEADLINES = {
    "ok": N_("Every measure is within the marketplace's limits."),
    "warn": N_("Some measures are close to the marketplace's limits."),
    "breach": N_("Some measures are past the marketplace's limits: act now."),
    "insufficient_data": N_("Too little data to judge this account yet."),
}
# The banner's line per failing rule: "Past the limit: Order Defect Rate (1.28%)".
FAILING = {
    "breach": N_("Past the limit: {rule} at {value}"),
    "warn": N_("Close to the limit: {rule} at {value}"),
}
LEVELS = {
    "top_rated": N_("Top Rated"),
    "above_standard": N_("Above Standard"),
    "below_standard": N_("Below Standard"),
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
# Who cancelled an order, and the states of a feedback, claim or return, as records store them.
PARTIES = {
    "buyer": N_("buyer"),
    "seller": N_("seller"),
    "marketplace": N_("marketplace"),
}
EVENT_STATES = {
    "open": N_("open"),
    "closed": N_("closed"),
    "withdrawn": N_("withdrawn"),
    "removed": N_("removed"),
    "denied": N_("denied"),
    "granted": N_("granted"),
}
# Marketplace reports and sync streams, by the names their APIs give them: said in words.
REPORT_NAMES = {
    "GET_V2_SELLER_PERFORMANCE_REPORT": N_("Amazon account health report"),
    "GET_SELLER_FEEDBACK_DATA": N_("Amazon feedback report"),
    "performance_report": N_("Amazon account health report"),
    "feedback": N_("Amazon feedback report"),
    "orders": N_("orders"),
    "messages": N_("buyer messages"),
    "events": N_("feedback, claims and returns"),
}
_TREND_WIDTH, _TREND_HEIGHT, _PAD = 220, 56, 4
TREND_SPAN = timedelta(days=180)  # how far back trend charts look


# The page -------------------------------------------------------------------------------------


@dataclass
class Mark:
    status: str
    position: float  # percent of the track
    label: str = ""  # the limit as the reader writes it ("1.00%")
    above: bool = False  # breach labels sit above the track, warn below: they never collide
    before: bool = False  # the label ends at its tick (a tick near the right end)


@dataclass
class Bar:
    """The value on a track scaled to show the thresholds, as percentages of its width.

    The scale is the rule's, not the value's (see :func:`scale_of`): the same rule draws the
    same track for every account and run, so 1.28% and 5.36% never look alike.
    """

    fill: float
    marks: list[Mark]
    start: str = ""  # the track's ends, as the reader writes them
    end: str = ""

    @property
    def above(self) -> list[Mark]:
        return sorted((m for m in self.marks if m.above), key=lambda m: m.position)

    @property
    def below(self) -> list[Mark]:
        return sorted((m for m in self.marks if not m.above), key=lambda m: m.position)


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
    # Per column: kept on a phone. The id and the columns that prove the failure (what the
    # rule reads: shipped vs ship-by, the defect and its date) are; the rest folds away.
    keep: list[bool] = field(default_factory=list)
    ids: list[bool] = field(default_factory=list)  # per column: ids, never wrapped
    # The count of rows left out, written as the reader writes numbers, and the same in a
    # sentence: templates print words, never raw integers.
    more_count: str = ""
    more_note: str = ""

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
    official_why: str | None = None  # why the marketplace's figure can differ from ours


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
    # The banner names what fails and what to do first, so a reader who reads no further knows.
    failing: list[str] = field(default_factory=list)
    first_action: str | None = None

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
    # "4 accounts, worst first": the digest's count in the reader's words and figures.
    accounts_line: str = ""
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
    # (account, order) -> its events: which feedback, claim or chargeback made it a defect.
    order_events: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
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
            defective: set[str] = set()
            for r in account.results:
                rule = ctx.rules.get(r.rule)
                failing = r.status in ("warn", "breach")
                if r.of == "orders" and failing and rule and event_predicates(rule):
                    shown = r.evidence if evidence_rows is None else r.evidence[:evidence_rows]
                    defective.update(shown)
            if defective:
                found = order_events(conn, account.account_id, sorted(defective), result.as_of)
                for order_id, events in found.items():
                    ctx.order_events[account.account_id, order_id] = events
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
        total = len(accounts) + len(quiet)
        subject = _digest_subject(result, label, t)
        accounts_line = t.ngettext("{n} account, worst first", "{n} accounts, worst first", total)
    else:
        name = accounts[0].name if accounts else ""
        title = (
            t.gettext("Audit pack: {name}", name=name)
            if kind == "audit"
            else t.gettext("Account health: {name}", name=name)
        )
        subject = t.gettext("[{status}] Account health: {name}", status=label, name=name)
        accounts_line = ""
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
        accounts_line=accounts_line,
        quiet=quiet,
    )


def _digest_subject(result: CheckResult, label: str, t: Localizer) -> str:
    """The digest's subject line: "healthy" only when every account is OK, since an account
    with too little data to judge is not known to be healthy."""
    statuses = [a.status for a in result.accounts]
    failing = sum(s in ("warn", "breach") for s in statuses)
    if failing:
        return t.ngettext(
            "[{status}] {n} account needs attention",
            "[{status}] {n} accounts need attention",
            failing,
            status=label,
        )
    if not statuses:
        return t.gettext("[{status}] No accounts to report", status=label)
    if all(s == "ok" for s in statuses):
        return t.ngettext(
            "[{status}] The account is healthy",
            "[{status}] All {n} accounts are healthy",
            len(statuses),
            status=label,
        )
    return t.ngettext(
        "[{status}] {n} account, not at risk",
        "[{status}] {n} accounts, none at risk",
        len(statuses),
        status=label,
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
    # Shop names come from marketplaces: a line break in one would forge lines of the
    # plain-text report, so the name is shown on one line.
    name = one_line(account.name or profile.get("name") or "") or account.account_id
    cards = [
        _card(account.account_id, r, ctx, t, evidence_rows=evidence_rows, audit=audit)
        for r in account.results
    ]
    cards.sort(key=lambda c: -STATUS_ORDER[c.status] if c.status in ("warn", "breach") else 0)
    counts: dict[str, int] = {}
    for r in account.results:
        counts[r.status] = counts.get(r.status, 0) + 1
    level = account.extra.get("level")
    failing = [
        t.gettext(FAILING[c.status], rule=c.title, value=c.value)
        for c in cards
        if c.status in FAILING
    ]
    first = next((c.actions[0] for c in cards if c.actions), None)
    return AccountView(
        account_id=account.account_id,
        name=name,
        marketplace=t.gettext(marketplace_title(account.marketplace)),
        status=account.status,
        status_label=t.gettext(STATUS_LABELS[account.status]),
        headline=t.gettext(HEADLINES[account.status]),
        level=t.gettext(LEVELS[level]) if level in LEVELS else level,
        notes=[t.note(note) for note in account.notes],
        cards=cards,
        changes=_changes(account, ctx, t),
        counts=counts,
        sources=[_source_row(s, t) for s in ctx.sources.get(account.account_id, [])],
        failing=failing,
        first_action=t.gettext("First action: {action}", action=first) if first else None,
    )


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
        message=t.message(r),
        window=t.gettext(
            "{start} to {end}", start=t.date(r.window_start), end=t.date(r.window_end)
        ),
        headroom=headroom(r, t),
        rolloff=rolloff(r, t),
        official=official(r, t),
        official_why=official_why(r, t),
        forecast=describe_forecast(r.forecast, words=t) if r.forecast else None,
        # Drawn only where shown: healthy measures are a table row outside the audit pack.
        bar=bar(r, t) if failing or audit else None,
        trend=trend(ctx.history.get((account_id, r.rule), []), r, t) if failing or audit else None,
        evidence=_evidence(account_id, r, ctx, t, evidence_rows, audit) if failing else None,
        actions=[t.gettext(a) for a in rule.actions] if rule and failing else [],
    )


# Sentences ------------------------------------------------------------------------------------


def headroom(r: RuleResult, t: Localizer) -> str | None:
    """Where more failures would take the rule and fewer would bring it, status by status
    (metrics.md "Steps and recovery"): "1 more failure → At risk; 2 more failures → Breach."
    A status no number of items reaches is left out."""
    parts = [
        t.ngettext(
            "{n} more failure → {status}",
            "{n} more failures → {status}",
            k,
            status=t.gettext(STATUS_LABELS[name]),
        )
        for name, k in named_steps(r.steps)
    ]
    parts += [
        t.ngettext(
            "{n} failure fewer → {status}",
            "{n} failures fewer → {status}",
            k,
            status=t.gettext(STATUS_LABELS[name]),
        )
        for name, k in named_steps(r.recovery)
    ]
    return "; ".join(parts) + "." if parts else None


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
    if not fetched:  # a figure the store never dated: said in words, not with a "?"
        if target is None:
            return t.gettext("The marketplace reports {value} (fetch date unknown).", value=figure)
        return t.gettext(
            "The marketplace reports {value} against its target {target} (fetch date unknown).",
            value=figure,
            target=t.value(Fraction(str(target)), r.unit),
        )
    when = t.date(datetime.fromisoformat(fetched.replace("Z", "+00:00")))
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


def _instant(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def official_why(r: RuleResult, t: Localizer) -> str | None:
    """Why the marketplace's figure and ours differ, in the terms a seller can check: its own
    window, its delay, and what it counts that the store may not hold. Said only when the two
    figures differ as shown; a seller who sees 7.02% beside 5.36% otherwise doubts both."""
    if not r.official or r.official.get("value") is None or r.value is None:
        return None
    theirs = Fraction(str(r.official["value"]))
    if t.value(theirs, r.unit) == t.value(r.value, r.unit):
        return None
    report = r.official.get("source")
    name = t.gettext(REPORT_NAMES[report]) if report in REPORT_NAMES else t.gettext("marketplace")
    start, end = _instant(r.official.get("window_start")), _instant(r.official.get("window_end"))
    parts = [
        t.gettext(
            "Our {value} is computed from the records stored here, {start} to {end}.",
            value=t.value(r.value, r.unit),
            start=t.date(r.window_start),
            end=t.date(r.window_end),
        )
    ]
    if start and end:
        parts.append(
            t.gettext(
                "The {report} covers {start} to {end} and is published with a delay.",
                report=name,
                start=t.date(start),
                end=t.date(end),
            )
        )
    else:
        parts.append(
            t.gettext(
                "The {report} uses its own window and is published with a delay.", report=name
            )
        )
    numerator, denominator = r.official.get("numerator"), r.official.get("denominator")
    if numerator is not None and denominator is not None and r.denominator is not None:
        parts.append(
            t.gettext(
                "It counts {numerator} of {denominator}; the store holds {ours} of {total}.",
                numerator=t.integer(numerator),
                denominator=t.integer(denominator),
                ours=t.integer(r.numerator or 0),
                total=t.integer(r.denominator),
            )
        )
    parts.append(
        t.gettext(
            "The marketplace also counts what the store may lack: orders, feedback and claims "
            "not synced yet or older than the first import."
        )
    )
    return " ".join(parts)


# Pictures -------------------------------------------------------------------------------------


def _limits(r: RuleResult) -> list[tuple[str, Fraction]]:
    found = []
    for name, text in r.thresholds.items():
        match = CONDITION.search(text)
        if match:
            found.append((name, Fraction(match.group(2))))
    return found


def _scale(values: Sequence[Fraction], unit: str) -> tuple[Fraction, Fraction]:
    """The track's bottom and top: from min(0, lowest) to a quarter above the highest, so a
    negative value (an NPS of -40) sits below zero rather than mirrored above it. A rate that
    stays within 0..100% keeps 100% as its top."""
    low = min([Fraction(0), *values])
    high = max([Fraction(0), *values])
    top = high + (high - low) / 4
    if unit == "ratio" and all(v <= 1 for v in values):
        top = min(top, Fraction(1))
    if top <= low:
        top = low + 1
    return low, top


def _share(value: Fraction, low: Fraction, top: Fraction) -> float:
    """Where ``value`` falls between ``low`` and ``top``, from 0 to 1."""
    return float(min(max((value - low) / (top - low), Fraction(0)), Fraction(1)))


def scale_of(r: RuleResult) -> tuple[Fraction, Fraction] | None:
    """The rule's own track, from its limits alone, with the reference limit (breach, else
    warn) in the middle: 0 to twice the limit for a measure that must stay low (ODR ≥ 1%:
    0 to 2%), twice the limit less 100% to 100% for a rate that must stay high (tracking
    < 95%: 90% to 100%). None where no such scale exists (a score that must stay above 0)."""
    found = {
        name: match for name, text in r.thresholds.items() if (match := CONDITION.search(text))
    }
    reference = found.get("breach") or found.get("warn")
    if reference is None:
        return None
    op, limit = reference.group(1), Fraction(reference.group(2))
    if op in (">", ">=") and limit > 0:
        top = 2 * limit
        return Fraction(0), min(top, Fraction(1)) if r.unit == "ratio" and limit < 1 else top
    if op in ("<", "<=") and r.unit == "ratio" and 0 < limit < 1:
        return max(Fraction(0), 2 * limit - 1), Fraction(1)
    return None


def bar(r: RuleResult, t: Localizer | None = None) -> Bar | None:
    """The value on the rule's fixed track (:func:`scale_of`); a value past an end sits at it.
    A rule without one (a score, a custom measure) falls back to a track fitted to its
    values."""
    limits = _limits(r)
    if r.value is None or not limits:
        return None
    low, top = scale_of(r) or _scale([r.value, *(v for _, v in limits)], r.unit)
    fill_ = _share(r.value, low, top) * 100
    marks = []
    for name, v in limits:
        position = round(_share(v, low, top) * 100, 1)
        label = t.value(v, r.unit) if t else ""
        # Breach above, warn below; a label past two thirds ends at its tick.
        marks.append(Mark(name, position, label, above=name == "breach", before=position > 66))
    ends = (t.value(low, r.unit), t.value(top, r.unit)) if t else ("", "")
    return Bar(round(fill_, 1), marks, *ends)


def trend(points: Sequence[Point], r: RuleResult, t: Localizer) -> Trend | None:
    """Past values of the rule (this run included) on a time axis, thresholds as lines.

    A run that was not stored (an audit pack of the moment) is not in ``points``: its own value
    is added as the last point, so the chart ends where the report's figure is.
    """
    known = [p for p in points if p.value is not None]
    if r.value is not None and (not known or known[-1].as_of < r.window_end):
        known.append(Point(0, r.window_end, r.status, float(r.value)))
    if len(known) < 2:
        return None
    limits = _limits(r)
    values = [Fraction(p.value) for p in known]  # type: ignore[arg-type]
    low, top = _scale(values + [v for _, v in limits], r.unit)
    start, end = known[0].as_of.timestamp(), known[-1].as_of.timestamp()
    span = (end - start) or 1.0
    width, height = _TREND_WIDTH - 2 * _PAD, _TREND_HEIGHT - 2 * _PAD

    def x(p: Point) -> float:
        return round(_PAD + (p.as_of.timestamp() - start) / span * width, 1)

    def y(value: Fraction) -> float:
        return round(_PAD + height - _share(value, low, top) * height, 1)

    dots = [(x(p), y(v), p.status) for p, v in zip(known, values, strict=True)]
    summary = t.gettext(
        "{n} checks from {start} to {end}: {first} then {last}",
        n=t.integer(len(known)),
        start=t.date(known[0].as_of),
        end=t.date(known[-1].as_of),
        first=t.value(values[0], r.unit),
        last=t.value(values[-1], r.unit),
    )
    return Trend(
        width=_TREND_WIDTH,
        height=_TREND_HEIGHT,
        line=" ".join(f"{a},{b}" for a, b, _ in dots),
        dots=dots,
        limits=[(y(v), name) for name, v in limits],
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
    rule = ctx.rules.get(r.rule)
    proof = proven_by(rule) if rule else set()
    wanted = [i for i, c in enumerate(columns) if not c.optional or c.reads & proof]
    keep = [i == 0 or bool(columns[i].reads & proof) for i in wanted]
    if not any(keep[1:]):  # nothing known to prove it: the first columns, as they come
        keep = [n < 3 for n in range(len(wanted))]
    matching = event_predicates(rule) if rule else []
    rows = []
    for record_id in shown:
        record = records.get(record_id)
        if record is None:
            rows.append(Row([record_id] + [t.gettext("(no longer stored)")]))
            continue
        if matching and r.of == "orders":
            events = ctx.order_events.get((account_id, record_id), [])
            record = record | {"defects": [e for e in events if _is_defect(e, matching)]}
        every = cells(record_id, record, t)
        row = Row([every[i] for i in wanted])
        if audit:
            row.timeline = _timeline(account_id, r.of, record_id, record, ctx, t)
        rows.append(row)
    table = Table(
        [t.gettext(columns[i].title) for i in wanted],
        rows,
        r.evidence_total,
        keep,
        [i == 0 or columns[i].ident for i in wanted],
    )
    if table.more > 0:
        table.more_count = t.integer(table.more)
        table.more_note = t.ngettext(
            "And {n} more record not shown.", "And {n} more records not shown.", table.more
        )
    return table


# What proves a failure -----------------------------------------------------------------------

EVENTS_READ = "@events"  # the rule looks at an order's events (has_event)


def _walk(node: Predicate | None) -> list[Predicate]:
    if node is None:
        return []
    if isinstance(node, All | AnyOf):
        return [node, *(n for item in node.items for n in _walk(item))]
    if isinstance(node, Not):
        return [node, *_walk(node.item)]
    return [node]


def event_predicates(rule: Rule) -> list[Predicate]:
    """What an order's event must be to count (``has_event``'s conditions) for ``rule``."""
    return [
        n.where for part in (rule.bad, rule.good) for n in _walk(part) if isinstance(n, HasEvent)
    ]


def proven_by(rule: Rule) -> set[str]:
    """The fields that decide whether a record is good or bad: their columns are the proof,
    kept on a phone. (The window and the ``where`` filter only say it was counted.)"""
    read: set[str] = set()
    for part in (rule.bad, rule.good):
        read |= fields_read(part)
    if event_predicates(rule):
        read.add(EVENTS_READ)
    return read


def _holds(node: Predicate, event: Mapping[str, Any]) -> bool:
    """``node`` for one stored event, as the engine's SQL reads it; a condition this does not
    know is taken as met, so a defect is shown rather than hidden."""
    if isinstance(node, All):
        return all(_holds(item, event) for item in node.items)
    if isinstance(node, AnyOf):
        return any(_holds(item, event) for item in node.items)
    if isinstance(node, Not):
        return not _holds(node.item, event)
    if isinstance(node, Is):
        return event.get(node.field) is not None and event.get(node.field) in node.values
    if isinstance(node, Present):
        return event.get(node.field) is not None
    if isinstance(node, Compare) and isinstance(node.right, Fraction):
        left = event.get(node.left)
        if left is None or isinstance(left, datetime):
            return True
        right, value = node.right, Fraction(str(left))
        return {
            ">": value > right,
            ">=": value >= right,
            "<": value < right,
            "<=": value <= right,
            "=": value == right,
            "!=": value != right,
        }[node.op]
    return True


def _is_defect(event: Mapping[str, Any], matching: Sequence[Predicate]) -> bool:
    if event.get("status") in IGNORED_EVENT_STATUSES:
        return False
    return any(_holds(node, event) for node in matching)


# Columns ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    title: str
    reads: frozenset[str] = frozenset()  # the record fields it shows
    optional: bool = False  # shown only where the rule reads one of them
    ident: bool = False  # holds ids: never wrapped (a wrapped id is misread and mis-pasted)


def _word(words: Mapping[str, str], value: object, t: Localizer) -> str:
    """A stored code (``seller``, ``open``) in the reader's language; an unknown one as is."""
    text = str(value)
    return t.gettext(words[text]) if text in words else text


def _defect(e: Mapping[str, Any], t: Localizer) -> str:
    kind = t.gettext(EVENT_KINDS.get(e["kind"], e["kind"]))
    if e.get("rating") is not None:
        kind += " · " + t.gettext("rating {n}", n=e["rating"])
    return kind


def _order_cells(record_id: str, o: dict[str, Any], t: Localizer) -> list[str]:
    cancelled = _when(o["cancelled_at"], t)
    if o["cancelled_at"] is not None and o.get("cancelled_by"):
        cancelled += f" ({_word(PARTIES, o['cancelled_by'], t)})"
    defects = o.get("defects") or []
    tracking = o.get("tracking_id") or t.gettext("none")
    if o.get("tracking_id") and o.get("tracking_valid") is False:
        tracking += " · " + t.gettext("not recognised by the carrier")
    return [
        record_id,
        "; ".join(_defect(e, t) for e in defects) or "—",
        "; ".join(_when(e["occurred_at"], t) for e in defects) or "—",
        _when(o["purchased_at"], t),
        _when(o["ship_by"], t),
        _when(o["shipped_at"], t),
        _when(o.get("deliver_by"), t),
        _when(o["delivered_at"], t),
        tracking,
        cancelled,
        _money(o, t),
    ]


def _event_cells(record_id: str, e: dict[str, Any], t: Localizer) -> list[str]:
    details = []
    if e.get("rating") is not None:
        details.append(t.gettext("rating {n}", n=e["rating"]))
    if e.get("status"):
        details.append(_word(EVENT_STATES, e["status"], t))
    if e.get("closed_without_seller_resolution"):
        details.append(t.gettext("closed without seller resolution"))
    return [
        record_id,
        t.gettext(EVENT_KINDS.get(e["kind"], e["kind"])),
        _when(e["occurred_at"], t),
        e.get("order_id") or "—",
        ", ".join(details) or "—",
        _when(e.get("responded_at"), t) if e.get("responded_at") else t.gettext("no response"),
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


_LAYOUTS: dict[str, tuple[list[Column], Any]] = {
    "orders": (
        [
            Column(N_("Order")),
            Column(N_("Defect"), frozenset({EVENTS_READ}), optional=True),
            Column(N_("Defect date"), frozenset({EVENTS_READ}), optional=True),
            Column(N_("Purchased"), frozenset({"purchased_at"})),
            Column(N_("Ship by"), frozenset({"ship_by"})),
            Column(N_("Shipped"), frozenset({"shipped_at"})),
            Column(N_("Due for delivery"), frozenset({"deliver_by"}), optional=True),
            Column(N_("Delivered"), frozenset({"delivered_at"})),
            Column(N_("Tracking"), frozenset({"tracking_id", "tracking_valid"}), optional=True),
            Column(N_("Cancelled"), frozenset({"cancelled_at", "cancelled_by"})),
            Column(N_("Total"), frozenset({"total"})),
        ],
        _order_cells,
    ),
    "events": (
        [
            Column(N_("Event")),
            Column(N_("Kind"), frozenset({"kind", "rating"})),
            Column(N_("When"), frozenset({"occurred_at"})),
            Column(N_("Order"), frozenset({"order_id"}), ident=True),
            Column(N_("Details"), frozenset({"status", "closed_without_seller_resolution"})),
            Column(N_("Seller response"), frozenset({"responded_at"}), optional=True),
        ],
        _event_cells,
    ),
    "inbound_messages": (
        [
            Column(N_("Message")),
            Column(N_("Conversation"), frozenset({"thread_id"}), ident=True),
            Column(N_("Received"), frozenset({"sent_at"})),
            Column(N_("Order"), frozenset({"order_id"}), ident=True),
            Column(N_("First reply"), frozenset({"reply_at"})),
        ],
        _message_cells,
    ),
    "outbound_messages": (
        [
            Column(N_("Message")),
            Column(N_("Conversation"), frozenset({"thread_id"}), ident=True),
            Column(N_("Sent"), frozenset({"sent_at"})),
            Column(N_("Order"), frozenset({"order_id"}), ident=True),
            Column(N_("Next reply"), frozenset({"reply_at"})),
        ],
        _message_cells,
    ),
    "threads": (
        [
            Column(N_("Conversation")),
            Column(N_("Started"), frozenset({"first_message_at"})),
            Column(N_("Messages"), frozenset({"messages"})),
            Column(N_("Last message"), frozenset({"last_message_at"})),
            Column(N_("Resolved"), frozenset({"resolved_at"})),
        ],
        _thread_cells,
    ),
    "buyers": (
        [
            Column(N_("Buyer")),
            Column(N_("Orders"), frozenset({"orders_365d"})),
            Column(N_("First purchase"), frozenset({"first_purchased_at"})),
            Column(N_("Last purchase"), frozenset({"last_purchased_at"})),
        ],
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
            what += f" · {_word(EVENT_STATES, m.detail['status'], t)}"
    elif m.what == "message":
        direction = str(m.detail.get("direction"))
        what = t.gettext(MOMENTS[direction]) if direction in MOMENTS else direction
        if m.detail.get("automated"):
            what += " · " + t.gettext("automatic")
    else:
        what = t.gettext(MOMENTS.get(m.what, m.what))
        if m.detail.get("by"):
            what += f" ({_word(PARTIES, m.detail['by'], t)})"
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
    # Streams and reports by their API names (GET_V2_SELLER_PERFORMANCE_REPORT) said in words.
    what = t.gettext(REPORT_NAMES[detail]) if detail in REPORT_NAMES else detail
    name = t.gettext(names.get(kind, s.name), what=what) if kind in names else s.name
    return SourceRow(
        name=name,
        records="—" if s.records is None else t.integer(s.records),
        latest=_when(s.latest, t),
        checked=_when(s.checked_at, t),
        # Problems the store words itself are in the catalogs; a sync's finding is read as is.
        problem=t.gettext(s.problem) if s.problem else None,
    )
