"""Alerts: one email when an account's status changes or a data source keeps failing.

Reports go out on a schedule whatever happened; an alert goes out because something changed,
and only then. What is watched, per account, is a set of *subjects*, each a row of
``alert_states``:

- each rule of the account's latest stored check (subject: the rule id), at its alert level
  ``ok``, ``warn`` or ``breach``. ``insufficient_data`` counts as ``ok``: too little data is not
  trouble, and a quiet account would otherwise flap in and out of it with every order;
- the account's status (subject ``status``): the worst *confirmed* level of its rules;
- each data source with a sync bookmark (subject ``source:<stream>``): ``failing`` while the
  bookmark carries a finding (an expired authorisation, a mailbox that stopped answering),
  else ``ok``.

Each subject keeps the state last observed and ``since`` when: the ``now`` of the call that
first saw it. Not the check's ``as_of``, which may lie in the past (a re-run, a backfill) and
which sources do not have, and never the wall clock: the caller's ``now`` makes every decision
reproducible. Each subject also keeps its *confirmed* state, the one alerts speak of:

- a rule's new level is confirmed once it has held for the rule's ``for:`` (at once without
  one), whichever way it moved: like Prometheus' ``for:``, and also on the way back, so a
  measure that dips under its limit for an hour sends no "recovered" mail followed by another
  "breach" mail. A flap back before ``for:`` has passed leaves nothing to say. Thresholds
  nest (:func:`observe`): a rule going back and forth between At risk and Breach is "At risk
  or worse" all along, so it is not kept silent by restarting the clock. The account's status
  follows its rules' confirmed levels, so the rule that drives it sets the delay;
- a source's failure is confirmed once it has lasted ``[alerts] source_failure_after``; its
  recovery at once.

A subject seen for the first time is confirmed as seen (a status is not a change until it
changes), except a failing source: never right, it alerts once it has failed long enough even if
it was failing when alerts were switched on.

Who was told what is kept per recipient (``alert_notices``): the account's level, each rule's
status and the failing sources of the last alert. A recipient is mailed when the confirmed
status differs from what they were told, or a source failed or recovered since; the mail lists
every rule whose level changed since their last alert. Rule changes that leave the account's
status where it was wait for the next alert (the scheduled report shows them meanwhile).

Never twice, through an outbox: before a mail is sent, its notice is committed as what it
tells, in state ``sending`` (with the states observed); once the server answered, it is marked
``sent``, or put back as it was if nothing was delivered, so a failed send is tried again on the
next call. A call that finds a notice still ``sending`` (the run stopped, or could not record the
outcome, after the mail may have left) counts it as told and reports it ``uncertain`` rather than
risk a second copy. A mail that reached some of a recipient's addresses but not all is told too
(sending it again would repeat it to the others) and reported ``partial`` with the refusal. Each
recipient has their own notice, so one refused recipient never makes the others receive the
same alert again. An account nobody reads,
a configuration without ``[smtp]`` and ``[alerts] enabled = false`` are decisions too: recorded,
with nothing sent, so a recipient or mail server added later is not greeted with old news.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Engine, delete, select

from seller_health.config import Config, ConfigError
from seller_health.engine.pack import Pack, Rule
from seller_health.engine.rules import builtin_packs
from seller_health.engine.wording import Localizer, localizer
from seller_health.model.results import AccountCheck, CheckResult, worst
from seller_health.notify.delivery import Reader, readers
from seller_health.notify.mailer import Delivery, send
from seller_health.reports.email import compose
from seller_health.reports.html import HTML_TEMPLATES, TEXT_TEMPLATES
from seller_health.reports.view import (
    AccountView,
    Card,
    Change,
    account_view,
    gather,
)
from seller_health.store.accounts import account_profiles
from seller_health.store.history import load_latest
from seller_health.store.models import AlertNotice, AlertState, SyncBookmark
from seller_health.store.writes import upsert

STATES, NOTICES = AlertState.__table__, AlertNotice.__table__
BOOKMARKS = SyncBookmark.__table__

STATUS = "status"  # the subject of the account's own status
SOURCE = "source:"  # the prefix of a data source's subject
OK, FAILING = "ok", "failing"
NOBODY = ""  # the recipient whose notice records decisions for an account nobody reads
# A rule's status as an alert level: not enough data is not trouble.
LEVELS = {"ok": "ok", "insufficient_data": "ok", "warn": "warn", "breach": "breach"}
_RANK = {"ok": 0, "warn": 1, "breach": 2, "failing": 1}  # a source: ok or failing
_LEVEL_NAMES = ("ok", "warn", "breach")
_NO_DELAY = timedelta(0)
SENDING, UNCERTAIN = "sending", "uncertain"  # a notice's outcome while its mail is in flight
_UNCERTAIN = (
    "an earlier run stopped between sending this alert and recording it: it may have been "
    "delivered, so it is not sent again"
)


def _level(state: str) -> str:
    return LEVELS.get(state, state)  # sources' failing/ok and levels stay as they are


# States ---------------------------------------------------------------------------------------


@dataclass
class State:
    """One subject of an account as alerts track it (a row of ``alert_states``)."""

    subject: str
    state: str  # as last observed
    since: datetime  # when the level of ``state`` was first observed
    away_since: datetime  # since when it has been on this side of ``confirmed`` (worse/better)
    confirmed: str  # the state alerts speak of: ``state`` once it has held long enough
    detail: str | None = None  # a failing source's finding

    @property
    def pending(self) -> bool:
        """A change is seen but has not held long enough to be told."""
        return _side(self.state, self.confirmed) != 0


def _side(state: str, confirmed: str) -> int:
    """1: worse than ``confirmed``, -1: better, 0: the same level."""
    difference = _RANK[_level(state)] - _RANK[_level(confirmed)]
    return (difference > 0) - (difference < 0)


def observe(
    old: State | None,
    subject: str,
    observed: str,
    now: datetime,
    hold: timedelta,
    *,
    baseline: str | None = None,
    detail: str | None = None,
) -> State:
    """The subject after observing ``observed`` at ``now``.

    A change of level restarts ``since``; the new level is confirmed once it has held for
    ``hold``. Thresholds nest, as Prometheus' warning and critical alerts on one expression do:
    from OK, a rule that goes back and forth between At risk and Breach has been "At risk or
    worse" all along, so At risk is confirmed once that excursion (``away_since``) has held,
    and Breach once Breach itself has. The same on the way back. A subject without history is
    confirmed in ``baseline`` (default: as observed).
    """
    if old is None:
        confirmed = observed if baseline is None else baseline
        row = State(subject, observed, now, now, confirmed, detail)
    else:
        since = now if _level(observed) != _level(old.state) else old.since
        side = _side(observed, old.confirmed)
        same_way = side != 0 and side == _side(old.state, old.confirmed)
        row = State(subject, observed, since, old.away_since if same_way else now, old.confirmed)
        row.detail = detail
    side = _side(row.state, row.confirmed)
    if side == 0 or now - row.since >= hold:
        row.confirmed, row.away_since = row.state, row.since  # also ok <-> insufficient_data
    elif now - row.away_since >= hold:  # the level next to the confirmed one has held
        # (rules only: a source has two levels, so its excursion starts with its level)
        row.confirmed = _LEVEL_NAMES[_RANK[_level(row.confirmed)] + side]
        row.away_since = row.since  # the far level's own streak: not long enough yet
    return row


# What a call decided ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """One alert for one recipient about one account, and what became of it."""

    account_id: str
    recipient: str  # "" when nobody reads the account
    subject: str  # the email's subject line, in the recipient's language
    before: str | None  # the account's level as last told (None: nothing told yet)
    after: str | None  # its level now (None: never checked)
    rules: tuple[str, ...]  # rules whose level changed since the recipient's last alert
    failing: tuple[str, ...]  # streams that failed long enough since
    recovered: tuple[str, ...]  # streams that work again
    # sent | failed | partial (reached some addresses) | uncertain (an earlier run stopped
    # between sending and recording it) | no_recipient | no_smtp | disabled
    action: str
    error: str | None = None

    @property
    def status_changed(self) -> bool:
        return self.before is not None and self.after is not None and self.before != self.after


@dataclass
class AlertOutcome:
    """What :func:`process_alerts` decided and sent."""

    decisions: list[Decision] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    # (account, subject, state, since): changes seen that have not held long enough yet
    pending: list[tuple[str, str, str, datetime]] = field(default_factory=list)

    @property
    def sent(self) -> list[Decision]:
        return [d for d in self.decisions if d.action == "sent"]

    @property
    def failed(self) -> list[Decision]:
        return [d for d in self.decisions if d.action == "failed"]

    @property
    def partial(self) -> list[Decision]:
        """Told, but some of the recipient's addresses refused it (not tried again)."""
        return [d for d in self.decisions if d.action == "partial"]

    @property
    def uncertain(self) -> list[Decision]:
        """Sent by an earlier run that stopped before recording it: perhaps never delivered."""
        return [d for d in self.decisions if d.action == "uncertain"]


# The email ------------------------------------------------------------------------------------


@dataclass
class SourceNotice:
    text: str
    failing: bool


@dataclass
class AlertPage:
    """What an alert shows, in the reader's language; ``templates/alert.*`` only lay it out."""

    language: str
    title: str
    as_of: str
    subject: str
    account_id: str
    name: str
    account: AccountView | None  # the latest check as reports show it; its ``changes`` are the
    # rules that changed since the reader's last alert (None: never checked)
    change: Change | None  # the account's status, before → after
    cards: list[Card]  # the rules that changed, in full
    sources: list[SourceNotice]
    t: Localizer


def _status_change(before: str, after: str, t: Localizer) -> Change:
    return Change(
        title=t.gettext("Status"),
        before=t.status(before),
        after=t.status(after),
        status=after,
        worse=_RANK[after] > _RANK[before],
    )


@dataclass
class _Facts:
    """An account as alerts see it after this call's observations."""

    account_id: str
    name: str
    check: AccountCheck | None
    as_of: datetime  # the latest check's (``now`` if never checked)
    now: datetime
    level: str | None  # the account's confirmed level (None: never checked)
    rules: dict[str, str]  # rule id -> confirmed status
    failing: dict[str, str]  # stream -> finding, for confirmed failures
    states: dict[str, State]
    context: Any = None  # the report context, read once for every reader


def _page(
    facts: _Facts,
    t: Localizer,
    before: str | None,
    changed: Sequence[str],
    told_rules: Mapping[str, str],
    newly: Sequence[str],
    recovered: Sequence[str],
    told_sources: Mapping[str, str],
) -> AlertPage:
    view = account_view(facts.check, facts.context, t) if facts.check is not None else None
    name = view.name if view is not None else facts.name
    change = None
    if before is not None and facts.level is not None and before != facts.level:
        change = _status_change(before, facts.level, t)
    cards: list[Card] = []
    if view is not None:
        cards = [c for c in view.cards if c.rule in changed]
        view = replace(
            view,
            changes=[
                Change(
                    title=card.title,
                    before=t.status(told_rules.get(card.rule, OK)),
                    after=card.status_label,
                    status=card.status,
                    worse=_RANK[_level(card.status)] > _RANK[_level(told_rules.get(card.rule, OK))],
                )
                for card in cards
            ],
        )
    sources = [
        SourceNotice(
            t.gettext(
                "{source} has been failing since {date} ({duration}): {finding}",
                source=_source_name(stream, t),
                date=t.datetime(facts.states[SOURCE + stream].since),
                duration=t.duration(
                    (facts.now - facts.states[SOURCE + stream].since).total_seconds()
                ),
                finding=facts.failing[stream],
            ),
            failing=True,
        )
        for stream in newly
    ] + [
        SourceNotice(
            t.gettext(
                "{source} works again (it had failed: {finding}).",
                source=_source_name(stream, t),
                finding=told_sources.get(stream) or "?",
            ),
            failing=False,
        )
        for stream in recovered
    ]
    label = t.status(facts.level or "insufficient_data")
    if change is not None:
        subject = t.gettext(
            "[{status}] {name}: {before} → {after}",
            status=change.after,
            name=name,
            before=change.before,
            after=change.after,
        )
    elif newly:
        subject = t.ngettext(
            "[{status}] {name}: {n} data source is failing",
            "[{status}] {name}: {n} data sources are failing",
            len(newly),
            status=label,
            name=name,
        )
    else:
        subject = t.gettext("[{status}] {name}: data sources work again", status=label, name=name)
    return AlertPage(
        language=t.language,
        title=t.gettext("Alert: {name}", name=name),
        as_of=t.datetime(facts.as_of, "long"),
        subject=subject,
        account_id=facts.account_id,
        name=name,
        account=view,
        change=change,
        cards=cards,
        sources=sources,
        t=t,
    )


def _source_name(stream: str, t: Localizer) -> str:
    return t.gettext("Sync of {what}", what=stream)  # as the audit pack names it


def render_alert(page: AlertPage, fmt: str = "html") -> str:
    """The alert as HTML (autoescaped) or plain text."""
    environment = HTML_TEMPLATES if fmt == "html" else TEXT_TEMPLATES
    return environment.get_template(f"alert.{'html' if fmt == 'html' else 'txt'}").render(
        page=page, _=page.t.gettext
    )


# Processing -----------------------------------------------------------------------------------


def _rules_of(
    account_id: str,
    config: Config,
    packs: Mapping[str, Sequence[Pack]] | None,
    builtin: Callable[[], list[Pack]],
) -> dict[str, Rule]:
    if packs is not None and account_id in packs:
        chosen: Sequence[Pack] = packs[account_id]
    elif account_id in config.accounts:
        chosen = config.account_packs(account_id)
    else:
        chosen = builtin()
    return {rule.id: rule for pack in chosen for rule in pack.rules}


def _observe_account(
    engine: Engine, config: Config, account_id: str, now: datetime, rules: Mapping[str, Rule]
) -> tuple[_Facts, list[str], dict[str, dict[str, Any]]]:
    """Observe the account at ``now``: its facts, the subjects that went away, its notices."""
    check = load_latest(engine, [account_id])
    account = check.accounts[0] if check.accounts else None
    with engine.connect() as conn:
        old = {
            row.subject: State(
                row.subject, row.state, row.since, row.away_since, row.confirmed, row.detail
            )
            for row in conn.execute(select(STATES).where(STATES.c.account_id == account_id))
        }
        bookmarks = conn.execute(
            select(BOOKMARKS.c.stream, BOOKMARKS.c.pending).where(
                BOOKMARKS.c.account_id == account_id
            )
        ).all()
        notices = {
            row.recipient: dict(row._mapping)
            for row in conn.execute(select(NOTICES).where(NOTICES.c.account_id == account_id))
        }
        stored_name = account_profiles(conn, [account_id]).get(account_id, {}).get("name")
    states: dict[str, State] = {}
    level = None
    if account is not None:
        for r in account.results:
            rule = rules.get(r.rule)
            hold = rule.alert_after if rule is not None and rule.alert_after else _NO_DELAY
            states[r.rule] = observe(old.get(r.rule), r.rule, r.status, now, hold)
        level = worst([_level(states[r.rule].confirmed) for r in account.results])
        states[STATUS] = observe(old.get(STATUS), STATUS, level, now, _NO_DELAY)
    source_after = config.alerts.source_failure_after
    for stream, pending in bookmarks:
        finding = (pending or {}).get("finding") or None
        subject = SOURCE + stream
        states[subject] = observe(
            old.get(subject),
            subject,
            FAILING if finding else OK,
            now,
            source_after if finding else _NO_DELAY,
            baseline=OK,
            detail=finding,
        )
    # Rules no longer checked (a pack changed) and sources without a bookmark go; an account
    # not checked yet keeps whatever its rules were.
    gone = [s for s in old if s not in states and (account is not None or s.startswith(SOURCE))]
    settings = config.accounts.get(account_id)
    facts = _Facts(
        account_id=account_id,
        name=(account.name if account else None)
        or (settings.name if settings else None)
        or stored_name
        or account_id,
        check=account,
        as_of=check.as_of if account is not None else now,
        now=now,
        level=level,
        rules={r.rule: states[r.rule].confirmed for r in account.results} if account else {},
        failing={
            s.removeprefix(SOURCE): state.detail or "?"
            for s, state in states.items()
            if s.startswith(SOURCE) and state.confirmed == FAILING
        },
        states=states,
    )
    return facts, gone, notices


def process_alerts(
    engine: Engine,
    config: Config,
    account_ids: Sequence[str],
    now: datetime,
    *,
    packs: Mapping[str, Sequence[Pack]] | None = None,
) -> AlertOutcome:
    """Observe each account at ``now``, mail the changes due, and record what was told.

    Call it after each check of an account (the scheduler does), or at any time: a change that
    has now held long enough is sent even without a new check. ``packs`` gives each account's
    rules where the caller has them (for their ``for:``); otherwise they come from the
    configuration, or are the built-in packs for an account it does not list.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    outcome = AlertOutcome()
    builtin = functools.cache(builtin_packs)  # read once, and only if an account needs them
    for account_id in dict.fromkeys(account_ids):
        rules = _rules_of(account_id, config, packs, builtin)
        _process_account(engine, config, account_id, now, rules, outcome)
    return outcome


def _process_account(
    engine: Engine,
    config: Config,
    account_id: str,
    now: datetime,
    rules: Mapping[str, Rule],
    outcome: AlertOutcome,
) -> None:
    facts, gone, notices = _observe_account(engine, config, account_id, now, rules)
    for state in facts.states.values():
        if state.pending:
            outcome.pending.append((account_id, state.subject, state.state, state.since))
    audience = readers(engine, config, account_id) or [Reader(NOBODY, (), "en", "UTC")]
    for recipient, notice in notices.items():
        if notice["outcome"] == SENDING:  # told, as far as anyone can know: never sent twice
            notice["outcome"] = UNCERTAIN
            outcome.decisions.append(
                Decision(
                    account_id=account_id,
                    recipient=recipient,
                    subject="",
                    before=None,
                    after=notice["status"],
                    rules=(),
                    failing=(),
                    recovered=(),
                    action=UNCERTAIN,
                    error=_UNCERTAIN,
                )
            )
    writes: list[dict[str, Any]] = []  # notices to store
    # each mail to send: its decision, message, and the notice to store if sent / if not
    outgoing: list[tuple[Decision, EmailMessage, dict[str, Any], dict[str, Any]]] = []
    for reader in audience:
        notice = notices.get(reader.recipient)
        told_status = notice["status"] if notice else None
        told_rules: dict[str, str] = dict(notice["rules"]) if notice else {}
        told_sources: dict[str, str] = dict(notice["sources"]) if notice else {}
        kept = {  # the notice as it stands: what a failed send leaves behind
            "account_id": account_id,
            "recipient": reader.recipient,
            "status": told_status,
            "rules": told_rules,
            "sources": told_sources,
            "notified_at": notice["notified_at"] if notice else None,
            "outcome": notice["outcome"] if notice else "baseline",
        }
        first_sight = told_status is None and facts.level is not None
        if first_sight:  # what is, when first seen, is no change
            told_status, told_rules = facts.level, dict(facts.rules)
            kept.update(status=told_status, rules=told_rules)
        newly = sorted(set(facts.failing) - set(told_sources))
        recovered = sorted(set(told_sources) - set(facts.failing))
        status_changed = facts.level is not None and told_status != facts.level
        if not (status_changed or newly or recovered):
            if first_sight or notice is None or kept["outcome"] == UNCERTAIN:
                writes.append(kept)
            continue
        changed = [
            rule_id
            for rule_id, status in facts.rules.items()
            if _level(status) != _level(told_rules.get(rule_id, OK))
        ]
        if facts.check is not None and facts.context is None:
            facts.context = gather(engine, _as_result(facts), rules=rules)
        page = _page(
            facts,
            localizer(reader.language, reader.timezone),
            told_status,
            changed,
            told_rules,
            newly,
            recovered,
            told_sources,
        )
        told = {
            **kept,
            "status": facts.level if facts.level is not None else told_status,
            "rules": dict(facts.rules) if facts.check is not None else told_rules,
            "sources": dict(facts.failing),
            "notified_at": now,
        }
        decision = Decision(
            account_id=account_id,
            recipient=reader.recipient,
            subject=page.subject,
            before=told_status,
            after=facts.level,
            rules=tuple(changed),
            failing=tuple(newly),
            recovered=tuple(recovered),
            action="sent",
        )
        action = (
            "no_recipient"
            if reader.recipient == NOBODY
            else "disabled"
            if not config.alerts.enabled
            else "no_smtp"
            if config.smtp is None
            else None
        )
        if action is not None:
            outcome.decisions.append(replace(decision, action=action))
            writes.append({**told, "outcome": action})
            continue
        assert config.smtp is not None
        try:
            message = compose(
                sender=config.smtp.sender,
                to=reader.to,
                subject=page.subject,
                html=render_alert(page, "html"),
                text=render_alert(page, "text"),
            )
        except ValueError as exc:  # an address the configuration let through but SMTP cannot use
            outcome.decisions.append(replace(decision, action="failed", error=str(exc)))
            writes.append(kept)
            continue
        outgoing.append((decision, message, {**told, "outcome": "sent"}, kept))
    # The outbox: what is about to be told is committed first, so that a run stopped after the
    # mail left (or unable to record it) never leads another run to send it again.
    writes += [{**told, "outcome": SENDING} for _, _, told, _ in outgoing]
    written = {row["recipient"] for row in writes}
    writes += [  # an uncertain notice of someone who no longer reads the account
        {**notice, "outcome": UNCERTAIN}
        for recipient, notice in notices.items()
        if notice["outcome"] == UNCERTAIN and recipient not in written
    ]
    _record(engine, account_id, facts, gone, writes)
    if outgoing:
        assert config.smtp is not None
        try:
            deliveries = send(config.smtp, [message for _, message, _, _ in outgoing])
        except ConfigError as exc:  # no password, unreadable CA: nothing was sent
            deliveries = [
                Delivery(_to(m), d.subject, ok=False, attempts=0, error=str(exc))
                for d, m, _, _ in outgoing
            ]
        outcome.deliveries.extend(deliveries)
        sent: list[dict[str, Any]] = []
        for (decision, _, told, kept), delivery in zip(outgoing, deliveries, strict=True):
            if delivery.ok:
                outcome.decisions.append(decision)
                sent.append(told)
            elif delivery.reached:  # told: sending it again would repeat it to the others
                outcome.decisions.append(replace(decision, action="partial", error=delivery.error))
                sent.append({**told, "outcome": "partial"})
            else:
                outcome.decisions.append(replace(decision, action="failed", error=delivery.error))
                sent.append(kept)
        _record_notices(engine, sent)


def _to(message: EmailMessage) -> tuple[str, ...]:
    return tuple(a.addr_spec for a in message["To"].addresses)


def _as_result(facts: _Facts) -> CheckResult:
    assert facts.check is not None
    return CheckResult(as_of=facts.as_of, accounts=[facts.check])


def _record_notices(engine: Engine, notices: Sequence[dict[str, Any]]) -> None:
    """What became of the mails the outbox committed as ``sending``."""
    with engine.begin() as conn:
        upsert(conn, NOTICES, list(notices))


def _record(
    engine: Engine,
    account_id: str,
    facts: _Facts,
    gone: Sequence[str],
    notices: Sequence[dict[str, Any]],
) -> None:
    """The observed states and what each recipient was told, in one transaction."""
    rows = [
        {
            "account_id": account_id,
            "subject": s.subject,
            "state": s.state,
            "since": s.since,
            "away_since": s.away_since,
            "confirmed": s.confirmed,
            "detail": s.detail,
        }
        for s in facts.states.values()
    ]
    with engine.begin() as conn:
        if gone:
            conn.execute(
                delete(STATES).where(
                    STATES.c.account_id == account_id, STATES.c.subject.in_(list(gone))
                )
            )
        upsert(conn, STATES, rows)
        upsert(conn, NOTICES, list(notices))
