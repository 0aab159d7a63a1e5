"""Pulling a connector's streams into the store, incrementally and safely.

Each page is stored in its own transaction (upsert by key, so a page seen twice changes
nothing), with the source's token for the next page; the bookmark's cursor moves only when the
whole interval is in, and never past the run's start. A sync stopped or killed halfway therefore
goes on from its last stored page while the token lives, and from the old cursor after: no gap,
no duplicate. Each run re-reads a look-back before the cursor, for data the marketplace fills in
late.
"""

from __future__ import annotations

import functools
import ssl
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from seller_health.connectors.base import (
    ApiError,
    Connector,
    Fetched,
    NeedsReauthorisation,
    PagedStream,
    Report,
    StaleResume,
)
from seller_health.connectors.http import RepeatedPage
from seller_health.connectors.mailbox import (
    ImapSource,
    MailboxError,
    MaildirSource,
    MboxSource,
    read_mailbox,
)
from seller_health.connectors.registry import MAILBOX_STREAM, check_streams, plugin
from seller_health.settings import ConfigError, ConnectedAccount, MailboxSettings
from seller_health.store.accounts import ensure_account
from seller_health.store.db import Engine
from seller_health.store.sync_state import (
    bookmark,
    message_threads,
    save_bookmark,
    store_records,
    store_report,
)
from seller_health.timeutil import format_instant, parse_instant, utcnow

DEFAULT_LOOKBACK = timedelta(days=3)
FIRST_SYNC = timedelta(days=400)  # enough for eBay's 12-month window and repeat purchases
RESUMABLE_FOR = timedelta(hours=23)  # Amazon's page tokens live 24 hours


@dataclass
class SyncSummary:
    account_id: str
    stream: str
    fetched: int = 0
    stored: int = 0
    updated: int = 0
    quarantined: int = 0
    finding: str | None = None
    window: tuple[datetime, datetime] | None = None
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False  # asked to stop: what was stored stays, with the next page's token
    error: str | None = None  # the stream failed (one of SYNC_ERRORS), also its ``finding``

    def __str__(self) -> str:
        text = (
            f"{self.account_id} {self.stream}: fetched {self.fetched}, stored {self.stored}, "
            f"updated {self.updated}, quarantined {self.quarantined}"
        )
        text += " — interrupted" if self.interrupted else ""
        return text + (f" — {self.finding}" if self.finding else "")


class SyncInterrupted(Exception):
    """Raised out of a rate-limit or retry wait when the caller asked the sync to stop."""


def stoppable_sleep(
    should_stop: Callable[[], bool], *, step: float = 0.2
) -> Callable[[float], None]:
    """A ``sleep`` for rate limiters and report polling that gives up when asked to stop.

    Amazon's order search allows one page every three minutes once the burst is spent: a
    shutdown must not wait for that, so the wait itself raises :class:`SyncInterrupted`.
    """

    def sleep(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if should_stop():
                raise SyncInterrupted
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(step, left))

    return sleep


def _refused(
    engine: Engine, account_id: str, stream: str, summary: SyncSummary, exc: Exception
) -> None:
    """The grant was revoked or expired: the stream keeps it as its finding until a sync works."""
    summary.finding = f"needs re-authorisation: {exc}"
    pending = {"finding": summary.finding, "refused": str(exc)}
    save_bookmark(engine, account_id, stream, pending=pending)


def _failed(engine: Engine, account_id: str, stream: str, exc: BaseException) -> SyncSummary:
    """An outage, an HTTP error or a dead mailbox is the stream's finding until a sync works, so
    alerts see a failing source; what the bookmark keeps to resume (a page token, a report id,
    the last UID) stays for the next run."""
    error = describe_sync_error(exc)
    summary = SyncSummary(account_id, stream, finding=f"sync failed: {error}", error=error)
    mark = bookmark(engine, account_id, stream)
    pending = {**((mark.pending or {}) if mark else {}), "finding": summary.finding}
    save_bookmark(engine, account_id, stream, pending=pending)
    return summary


def _attempt(
    engine: Engine,
    account_id: str,
    stream: str,
    work: Callable[[], SyncSummary],
    keep_going: bool,
) -> SyncSummary:
    """``work``'s summary; with ``keep_going``, a sync error is recorded rather than raised."""
    if not keep_going:
        return work()
    try:
        return work()
    except SYNC_ERRORS as exc:
        return _failed(engine, account_id, stream, exc)


def sync_stream(
    engine: Engine,
    connector: Connector,
    stream: PagedStream,
    *,
    marketplace: str | None = None,
    now: datetime | None = None,
    lookback: timedelta = DEFAULT_LOOKBACK,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SyncSummary:
    """Bring one of the account's paged streams (orders, messages, events) up to the run's start
    (less the source's settling delay). ``marketplace`` defaults to the connector's.

    ``should_stop`` is asked between pages: when it says yes, the pages fetched so far are
    committed with the source's token for the next page, and the bookmark's cursor stays where
    it was. The next run first finishes that interval from the token (a first sync of a year of
    orders at Amazon's pace takes hours: it is not started over), or reads it again from its
    start if the token has expired; then it reads on up to its own start.
    """
    account_id = connector.account_id
    summary = SyncSummary(account_id, stream)
    clock = now or utcnow()
    run_start = clock - connector.settle
    ensure_account(engine, account_id, marketplace or connector.marketplace)
    mark = bookmark(engine, account_id, stream)
    start = (mark.cursor - lookback) if mark and mark.cursor else run_start - FIRST_SYNC
    intervals: list[tuple[datetime, datetime, str | None]] = []
    kept = (mark.pending or {}).get("resume") if mark else None
    if kept and clock - parse_instant(kept["saved_at"]) < RESUMABLE_FOR:
        after, before = parse_instant(kept["after"]), parse_instant(kept["before"])
        intervals.append((after, before, kept["token"]))
        start = max(start, before - lookback)
    elif kept:
        summary.notes.append(f"the page token kept at {kept['saved_at']} has expired")
    if start < run_start:
        intervals.append((start, run_start, None))
    summary.window = (intervals[0][0], run_start)
    for after, before, token in intervals:
        try:
            finished = _sync_interval(
                engine, connector, summary, (after, before, token), clock, progress, should_stop
            )
        except StaleResume as exc:
            summary.notes.append(f"the kept page token was refused ({exc}); read again")
            finished = _sync_interval(
                engine, connector, summary, (after, before, None), clock, progress, should_stop
            )
        if not finished:
            return summary
        done: dict[str, object] = {}
        if stream == "orders":  # the checks read which order fields the source never gives
            done["unknown_fields"] = sorted(connector.unknown_fields)
        save_bookmark(engine, account_id, stream, cursor=before, pending=done)
    return summary


def _sync_interval(
    engine: Engine,
    connector: Connector,
    summary: SyncSummary,
    interval: tuple[datetime, datetime, str | None],
    clock: datetime,
    progress: Callable[[int], None] | None,
    should_stop: Callable[[], bool] | None,
) -> bool:
    """Store the stream's records of [after, before) from the page ``token`` names (the first
    if none); whether the interval is complete. Each page is committed with the token of the
    next."""
    account_id, stream = connector.account_id, summary.stream
    pages = getattr(connector, stream)
    after, before, token = interval
    checkpoint = {"after": format_instant(after), "before": format_instant(before)}
    # Pages are stored on one writer thread while the next one is fetched: the rate limit, not
    # our own work, should set the pace. One writer keeps the pages in order.
    in_flight: deque[Future[None]] = deque()
    refusal: NeedsReauthorisation | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-writer") as writer:
        try:
            for page in pages(after, before, token):
                while len(in_flight) >= 2:
                    in_flight.popleft().result()
                resume = (
                    {**checkpoint, "token": page.resume, "saved_at": format_instant(clock)}
                    if page.resume
                    else None
                )
                in_flight.append(
                    writer.submit(_store_page, engine, account_id, page, summary, resume)
                )
                if progress:
                    progress(summary.fetched)
                if should_stop is not None and should_stop():
                    summary.interrupted = True
                    break
        except NeedsReauthorisation as exc:
            refusal = exc
        except SyncInterrupted:
            summary.interrupted = True
        finally:
            while in_flight:
                in_flight.popleft().result()
    if refusal is not None:
        _refused(engine, account_id, stream, summary, refusal)
    return not (summary.interrupted or refusal)


def _store_page(
    engine: Engine,
    account_id: str,
    page: Fetched,
    summary: SyncSummary,
    resume: dict[str, str] | None = None,
) -> None:
    """One page in one transaction, with the token of the next page when there is one."""
    records = [{"account_id": account_id, **record} for record in page.records]
    rejected = [(r.key, r.reason, r.raw) for r in page.rejected]
    new, updated = store_records(engine, account_id, summary.stream, records, rejected, resume)
    summary.stored += new
    summary.updated += updated
    summary.fetched += len(records) + len(page.rejected)
    summary.quarantined += len(page.rejected)


def sync_reports(
    engine: Engine,
    connector: Connector,
    *,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    polls: int = 30,
    keep_going: bool = False,
) -> list[SyncSummary]:
    """The connector's reports (Amazon: the Account Health figures and the feedback report),
    each resumed if one is in flight.

    ``keep_going``: a report that fails with one of :data:`SYNC_ERRORS` becomes its stream's
    finding and the next is still fetched (else the error is raised).
    """
    run_start = now or utcnow()
    return [
        _attempt(
            engine,
            connector.account_id,
            report.stream,
            functools.partial(_sync_report, engine, connector, report, run_start, sleep, polls),
            keep_going,
        )
        for report in connector.reports
    ]


def _sync_report(
    engine: Engine,
    connector: Connector,
    report: Report,
    run_start: datetime,
    sleep: Callable[[float], None],
    polls: int,
) -> SyncSummary:
    account_id, stream = connector.account_id, report.stream
    start, end = (run_start - report.span, run_start) if report.span else (None, None)
    summary = SyncSummary(account_id, stream)
    mark = bookmark(engine, account_id, stream)
    report_id = (mark.pending if mark else {}).get("report_id")
    try:
        if not report_id:
            report_id = connector.request_report(report, start, end)
            save_bookmark(engine, account_id, stream, pending={"report_id": report_id})
        outcome = connector.poll_report(report_id, polls=polls, sleep=sleep)
    except NeedsReauthorisation as exc:
        _refused(engine, account_id, stream, summary, exc)
        return summary
    if outcome.status in ("IN_QUEUE", "IN_PROGRESS"):
        if (mark.pending if mark else {}).get("finding"):  # the marketplace answers again
            save_bookmark(engine, account_id, stream, pending={"report_id": report_id})
        summary.notes.append(f"report {report_id} still {outcome.status}; polling resumes next run")
        return summary
    if outcome.status != "DONE" or outcome.document is None:
        # FATAL with no data, or CANCELLED because there was nothing to report: a state, not a crash
        summary.notes.append(f"report {report_id} ended {outcome.status}")
        save_bookmark(engine, account_id, stream, pending={}, cursor=end or utcnow())
        return summary
    parsed = connector.parse_report(report, outcome.document)
    official = report.holds == "official"
    extra = {"source": report.kind, "fetched_at": utcnow()} if official else {}
    rows = [{"account_id": account_id, **r, **extra} for r in parsed.records]
    rejected = [(r.key, r.reason, r.raw) for r in parsed.rejected]
    store_report(engine, account_id, stream, rows, rejected, official=official)
    summary.fetched = len(parsed.records) + len(parsed.rejected)
    summary.stored, summary.quarantined = len(parsed.records), len(parsed.rejected)
    save_bookmark(engine, account_id, stream, pending={}, cursor=end or utcnow())
    return summary


def sync_mailbox(
    engine: Engine, account_id: str, settings: MailboxSettings, password: str | None
) -> SyncSummary:
    """New mail of the account's mailbox as messages; IMAP resumes after the last UID seen."""
    summary = SyncSummary(account_id, MAILBOX_STREAM)
    mark = bookmark(engine, account_id, MAILBOX_STREAM)
    pending = dict(mark.pending) if mark else {}
    pending.pop("finding", None)  # stored with the messages below: the mailbox works again
    threads = message_threads(engine, account_id)
    if settings.kind == "imap":
        context = ssl.create_default_context(cafile=settings.ca_file)
        assert settings.host and settings.username and password is not None
        with ImapSource(
            settings.host,
            settings.port,
            settings.username,
            password,
            settings.folder,
            ssl_context=context,
            starttls=settings.starttls,
        ) as source:
            fetch = source.fetch(pending.get("last_uid", 0), pending.get("uidvalidity"))
            scan = read_mailbox(fetch.messages(), threads)
            pending = {
                "uidvalidity": fetch.uidvalidity,
                "last_uid": fetch.last_uid or pending.get("last_uid", 0),
            }
            if fetch.restarted:
                summary.notes.append(
                    "the mailbox was rebuilt (new UIDVALIDITY): read again from the start"
                )
    elif settings.kind == "maildir":
        assert settings.path
        scan = read_mailbox(MaildirSource(settings.path).messages(), threads)
    else:
        assert settings.path
        scan = read_mailbox(MboxSource(settings.path).messages(), threads)
    rows = [
        {"account_id": account_id} | {k: getattr(r, k) for k in MESSAGE_FIELDS}
        for r in scan.records
    ]
    rejected = [(e.source_id, e.reason, {"source": e.source_id}) for e in scan.quarantined]
    summary.stored, summary.updated = store_records(
        engine, account_id, MAILBOX_STREAM, rows, rejected
    )
    save_bookmark(engine, account_id, MAILBOX_STREAM, pending=pending, cursor=utcnow())
    summary.fetched = len(rows) + len(scan.quarantined)
    summary.quarantined = len(scan.quarantined)
    return summary


MESSAGE_FIELDS = (
    "message_id",
    "thread_id",
    "sent_at",
    "direction",
    "order_id",
    "needs_reply",
    "channel",
    "resolved_at",
    "agent",
    "automated",
)


SYNC_ERRORS: tuple[type[BaseException], ...] = (
    ApiError,
    ConnectionError,
    RepeatedPage,
    MailboxError,
    httpx.HTTPError,
)


def describe_sync_error(exc: BaseException) -> str:
    """One of :data:`SYNC_ERRORS` in words fit for a terminal or a log line (nothing secret)."""
    if isinstance(exc, httpx.HTTPError):  # still failing after the retries: timeouts, a dead host
        return f"{type(exc).__name__} from the marketplace"
    return str(exc)


def sync_account(
    engine: Engine,
    account_id: str,
    settings: ConnectedAccount,
    *,
    lookback: timedelta = DEFAULT_LOOKBACK,
    reports: bool = True,
    progress: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    connector: Connector | None = None,
    now: datetime | None = None,
    keep_going: bool = False,
    connected: Callable[[Connector], None] | None = None,
) -> list[SyncSummary]:
    """One account's sync, shared by ``seller-health sync`` and the ``run`` daemon: its
    connector's paged streams (orders first), then (unless blocked or stopped) its reports and
    its mailbox.

    The connector is the one registered for the account's marketplace, made from ``settings``
    (``connector`` replaces it; ``connected`` is handed it once made). ``progress`` receives a
    short description of what is being fetched. ``should_stop`` is asked between pages and
    during rate-limit waits; a stopped sync returns with its last summary ``interrupted``.
    ``now`` (default: the wall clock) is the moment the sync runs at, as for
    :func:`sync_stream`. Raises :class:`~seller_health.settings.ConfigError` for a missing
    secret and :data:`SYNC_ERRORS` when the marketplace or the mailbox fails; with
    ``keep_going`` (the daemon), such an error is instead the failing stream's finding and
    summary ``error``, and the sync goes on (after a failed stream, with the mailbox only: the
    reports come from the same API), so the check and the alerts still run on the data stored.
    """
    stopping = should_stop or (lambda: False)
    sleep = stoppable_sleep(stopping)
    if connector is None:
        connector = plugin(settings.marketplace).connect(account_id, settings, sleep)
    check_streams(connector)
    if settings.mailbox is not None and MAILBOX_STREAM in connector.streams:
        raise ConfigError(
            f"accounts.{account_id}.mailbox: the {connector.marketplace} connector syncs buyer "
            "messages from the marketplace's API; remove the mailbox"
        )
    if connected is not None:
        connected(connector)
    source = connector
    say = progress or (lambda text: None)
    summaries: list[SyncSummary] = []
    for stream in source.streams:
        say(stream)
        summary = _attempt(
            engine,
            account_id,
            stream,
            lambda stream=stream: sync_stream(
                engine,
                source,
                stream,
                lookback=lookback,
                progress=lambda n, stream=stream: say(f"{n} {stream}"),
                should_stop=stopping,
                now=now,
            ),
            keep_going,
        )
        summaries.append(summary)
        if summary.interrupted or (summary.finding and not summary.error):
            return summaries
        if summary.error:  # the API failed: its other streams and reports would fail alike
            break
    failed = any(summary.error for summary in summaries)
    if reports and source.reports and not failed:
        say("reports")
        try:
            summaries += sync_reports(engine, source, sleep=sleep, now=now, keep_going=keep_going)
        except SyncInterrupted:  # the report id is kept: polling resumes next run
            summaries.append(SyncSummary(account_id, "reports", interrupted=True))
            return summaries
    if settings.mailbox is not None:
        if stopping():
            summaries.append(SyncSummary(account_id, MAILBOX_STREAM, interrupted=True))
            return summaries
        say("buyer messages")
        password = settings.mailbox_password(account_id)
        mailbox = settings.mailbox
        summaries.append(
            _attempt(
                engine,
                account_id,
                MAILBOX_STREAM,
                lambda: sync_mailbox(engine, account_id, mailbox, password),
                keep_going,
            )
        )
    return summaries
