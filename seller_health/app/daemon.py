"""``seller-health run``: every account's sync and check, and the digests, on their schedules.

The scheduler is APScheduler 3 with its job store in the store's own database (table
``apscheduler_jobs``), so the schedules, and the runs that fell due while the daemon was down,
survive a restart. Jobs name module-level functions by textual reference (what a persistent
store can keep) and find the running :class:`Daemon` through this module. Each account has one
job (sync, then check, then its report mailed), each recipient with a ``schedule`` a digest job;
``max_instances=1`` keeps one run at a time per account, ``coalesce`` turns runs missed during
downtime into one, and ``misfire_grace_time`` drops it when it is too late to matter.

Time: APScheduler 3 has no clock parameter; it calls ``datetime.now(tz)`` in two modules (the
due-job scan and the misfire check). :func:`apscheduler_clock` points those at a :class:`Clock`,
and :meth:`Daemon.tick` runs one scan, so tests step a fake clock instead of sleeping. The
system clock needs no patch: production runs APScheduler untouched.

Shutdown: SIGTERM or SIGINT sets the stop flag and wakes the loop; no job is started after
that, a running sync stops at its next page boundary (or out of a rate-limit wait) with its
pages committed and its bookmark where it was, and the job is marked due now (and interrupted)
in the job store so that the next start resumes it at once, even later than the grace time.
Then the job store is closed and the process exits 0.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    JobSubmissionEvent,
    SchedulerEvent,
)
from apscheduler.executors.base import BaseExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import Engine

from seller_health.config import Config, ConfigError, redact
from seller_health.engine.pack import Pack
from seller_health.store.db import SCHEDULER_TABLE

ACCOUNT_JOB = "seller_health.app.daemon:account_job"
RESUME = {"resume": True}  # an interrupted job's mark in the job store, for the next start
DIGEST_JOB = "seller_health.app.daemon:digest_job"
MAX_WAIT = 60.0  # wake at least this often: a suspended laptop or a stepped clock is noticed

log = logging.getLogger("seller_health.app.daemon")


# --- time -------------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


# The APScheduler 3 modules that read the time: schedulers.base (due jobs, first run times)
# and executors.base (the misfire check). APScheduler's own tests freeze the same two.
_APSCHEDULER_TIME_MODULES = ("apscheduler.schedulers.base", "apscheduler.executors.base")


@contextlib.contextmanager
def apscheduler_clock(clock: Clock) -> Iterator[None]:
    """While active, APScheduler takes "now" from ``clock``: process-wide, so one clocked
    scheduler per process (tests only; production keeps the system clock and no patch)."""

    class ClockedDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            moment = clock.now()
            return moment.astimezone(tz) if tz is not None else moment.astimezone()

    modules = [sys.modules[name] for name in _APSCHEDULER_TIME_MODULES]
    saved = [module.datetime for module in modules]  # type: ignore[attr-defined]
    for module in modules:
        module.datetime = ClockedDatetime  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.datetime = original  # type: ignore[attr-defined]


class DaemonScheduler(BaseScheduler):
    """APScheduler's scheduler with the loop in our hands: :meth:`tick` scans once (tests drive
    it), :meth:`pause_until` waits for the next due job or a wake-up (the daemon's loop)."""

    def __init__(self, **options: Any) -> None:
        self._wake = threading.Event()
        super().__init__(**options)

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)
        self._wake.set()

    def wakeup(self) -> None:
        self._wake.set()

    def tick(self) -> float | None:
        """Submit the due jobs once; seconds until the next one is due (None: no job)."""
        return self._process_jobs()

    def pause_until(self, seconds: float | None) -> None:
        self._wake.wait(MAX_WAIT if seconds is None else min(seconds, MAX_WAIT))
        self._wake.clear()


# --- jobs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """One job the configuration asks for."""

    id: str
    func: str
    args: tuple[str, ...]
    trigger: BaseTrigger


def wanted_jobs(config: Config) -> list[JobSpec]:
    """Per account with a ``schedule`` its sync+check; per recipient with one, a digest (only
    with an ``[smtp]`` server: a digest that cannot be sent is not worth waking up for)."""
    specs = []
    for account_id, account in config.accounts.items():
        trigger = account.trigger()
        if trigger is not None:
            specs.append(JobSpec(f"account:{account_id}", ACCOUNT_JOB, (account_id,), trigger))
    for name, recipient in config.recipients.items():
        trigger = recipient.trigger()
        if trigger is not None and config.smtp is not None:
            specs.append(JobSpec(f"digest:{name}", DIGEST_JOB, (name,), trigger))
    return specs


@dataclass
class JobOutcome:
    """What one job run did: ``outcome`` ok, failed or interrupted, counts, other log fields."""

    outcome: str = "ok"
    counts: dict[str, int] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)


_current: Daemon | None = None
_current_lock = threading.Lock()


def _running() -> Daemon:
    daemon = _current
    if daemon is None:
        raise RuntimeError("no seller-health daemon is running in this process")
    return daemon


def account_job(account_id: str, resume: bool = False) -> None:
    """The scheduled job of one account (named by reference in the job store). ``resume``
    marks, in the job store, a run interrupted by shutdown; the next start clears it."""
    _running().run_job(f"account:{account_id}", lambda d: run_account(d, account_id))


def digest_job(recipient: str) -> None:
    """The scheduled digest of one recipient (named by reference in the job store)."""
    _running().run_job(f"digest:{recipient}", lambda d: run_digest(d, recipient))


def run_account(daemon: Daemon, account_id: str) -> JobOutcome:
    """Sync an account that has a connector (imported ones have none), check it, keep the run, and
    mail its report to whoever reads it. A sync stopped by shutdown skips the rest; a stream
    that fails (an outage, a dead mailbox) is its bookmark's finding and the job goes on, so the
    check and the alerts still run on the data stored (a source failing too long alerts), and
    the job is ``failed`` with the streams in ``sync_failed``."""
    from seller_health.app import service

    config, engine = daemon.config, daemon.engine
    result = JobOutcome()
    problems: list[str] = []
    if account_id in config.synced_accounts():
        summaries = service.sync(
            engine,
            config,
            [account_id],
            reports=daemon.reports,
            should_stop=daemon.stop.is_set,
            now=daemon.clock.now(),
            keep_going=True,
        )[account_id]
        failed = [summary.stream for summary in summaries if summary.error]
        if failed:
            result.fields["sync_failed"] = failed
        for summary in summaries:
            for name in ("fetched", "stored", "updated", "quarantined"):
                key = f"{summary.stream}_{name}"
                result.counts[key] = result.counts.get(key, 0) + getattr(summary, name)
            if summary.finding:
                problems.append(f"{summary.stream}: {summary.finding}")
        if any(summary.interrupted for summary in summaries):
            result.outcome = "interrupted"
            return result
    as_of = daemon.clock.now().astimezone(UTC).replace(microsecond=0)
    try:
        check = service.check(engine, daemon.packs[account_id], as_of=as_of, accounts=[account_id])
    except LookupError:
        result.outcome = "failed"
        result.fields["error"] = "the account is not in the store yet (sync or import it first)"
        return result
    run_id = check.run_id
    account = check.accounts[0]
    statuses = Counter(r.status for r in account.results)
    result.counts.update(rules=len(account.results), breach=statuses["breach"])
    result.counts.update(warn=statuses["warn"])
    result.fields.update(status=account.status, run_id=run_id)
    _alert(daemon, account_id, result, problems)
    if config.smtp is not None and config.recipients_of(account_id):
        sent = service.mail_account_report(engine, config, account_id)
        _count_mail(result, sent, problems)
    if problems:
        result.outcome = "failed"
        result.fields["error"] = "; ".join(problems)
    return result


def _alert(daemon: Daemon, account_id: str, result: JobOutcome, problems: list[str]) -> None:
    """Mail what changed since the last alert (status, or a data source failing too long)."""
    from seller_health.app import service

    # At the run's scheduled time, not the clock after the sync: a ``for:`` of one interval then
    # holds at the next run, however many seconds this sync or the last one took.
    outcome = service.alert(
        daemon.engine,
        daemon.config,
        [account_id],
        daemon.fire_time(),
        packs={account_id: daemon.packs[account_id]},
    )
    result.counts["alerts_sent"] = len(outcome.sent)
    result.counts["alerts_failed"] = len(outcome.failed)
    result.counts["alerts_partial"] = len(outcome.partial)
    result.counts["alerts_uncertain"] = len(outcome.uncertain)
    if outcome.failed:
        problems.append(f"{len(outcome.failed)} alert(s) not sent (retried at the next run)")
    for decision in outcome.partial:  # told (it reached someone), but not everyone has it
        problems.append(f"alert to {decision.recipient} only partly delivered: {decision.error}")
    for decision in outcome.uncertain:
        problems.append(f"alert to {decision.recipient} uncertain: {decision.error}")


def run_digest(daemon: Daemon, recipient: str) -> JobOutcome:
    """Mail one recipient the digest of their accounts' latest checks."""
    from seller_health.app import service

    result = JobOutcome()
    problems: list[str] = []
    _count_mail(result, service.mail_digest(daemon.engine, daemon.config, recipient), problems)
    if problems:
        result.outcome = "failed"
        result.fields["error"] = "; ".join(problems)
    return result


def _count_mail(result: JobOutcome, sent: list[Any], problems: list[str]) -> None:
    """Count the deliveries; one that reached only some of its addresses is ``partial``."""
    failed = [d for d in sent if not getattr(d, "ok", True)]
    partial = [d for d in failed if getattr(d, "reached", False)]
    result.counts["emails_sent"] = len(sent) - len(failed)
    result.counts["emails_failed"] = len(failed) - len(partial)
    result.counts["emails_partial"] = len(partial)
    if len(failed) > len(partial):
        problems.append(f"{len(failed) - len(partial)} email(s) not sent")
    for delivery in partial:
        problems.append(f"email {delivery.subject!r} only partly delivered: {delivery.error}")


def _who(job_id: str) -> dict[str, str]:
    kind, _, name = job_id.partition(":")
    if kind == "account":
        return {"job": "sync_check", "account": name}
    return {"job": kind, "recipient": name}


# --- the daemon -------------------------------------------------------------------------------


class Daemon:
    """The scheduler, its job store in ``engine``'s database, and what the jobs need.

    ``clock`` other than the system clock patches APScheduler's time while the daemon runs
    (see :func:`apscheduler_clock`); ``executor`` defaults to a thread pool of
    ``[daemon] workers``; ``emit`` receives each log record (default: one JSON line on the
    ``seller_health.app.daemon`` logger). Raises :class:`ConfigError` for rules that do not load.
    """

    def __init__(
        self,
        config: Config,
        engine: Engine,
        *,
        clock: Clock | None = None,
        executor: BaseExecutor | None = None,
        reports: bool = True,
        run_now: bool = False,
        emit: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.config, self.engine = config, engine
        self.clock: Clock = clock or SystemClock()
        self.reports, self.run_now = reports, run_now
        self.emit = emit or emit_json
        self.stop = threading.Event()
        self.packs: dict[str, list[Pack]] = {a: config.account_packs(a) for a in config.accounts}
        self.jobs = wanted_jobs(config)
        self.interrupted: set[str] = set()  # job ids to run again as soon as the daemon restarts
        self._fire_times: dict[str, datetime] = {}  # job id -> the time it is submitted for
        self._run = threading.local()  # the fire time of the job running on this thread
        self._lock = threading.Lock()
        self._signal_name: str | None = None
        tz_name = config.daemon.log_timezone
        self.log_tz = ZoneInfo(tz_name) if tz_name else UTC
        self.scheduler = DaemonScheduler(timezone=UTC)
        self.scheduler.add_jobstore(SQLAlchemyJobStore(engine=engine, tablename=SCHEDULER_TABLE))
        self.scheduler.add_executor(
            self._noting_fire_times(executor or ThreadPoolExecutor(config.daemon.workers))
        )
        self.scheduler.add_listener(self._on_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self._clock_patch: contextlib.AbstractContextManager[None] = (
            contextlib.nullcontext()
            if isinstance(self.clock, SystemClock)
            else apscheduler_clock(self.clock)
        )

    def _noting_fire_times(self, executor: BaseExecutor) -> BaseExecutor:
        """``executor``, noting each job's scheduled time as it is submitted: APScheduler 3
        does not pass it to the job, and a run's own clock is late by the wait for a worker."""
        submit = executor.submit_job

        def submit_job(job: Any, run_times: list[datetime]) -> None:
            with self._lock:  # a run still going read its own time when it started
                self._fire_times[job.id] = run_times[-1]  # coalesced: the latest
            submit(job, run_times)

        executor.submit_job = submit_job  # type: ignore[method-assign]
        return executor

    def fire_time(self) -> datetime:
        """The time the running job was scheduled for (the clock to the minute outside one)."""
        moment = getattr(self._run, "fire_time", None)
        if moment is None:
            moment = self.clock.now().replace(second=0, microsecond=0)
        return moment

    # lifecycle

    def start(self) -> None:
        """Open the job store, bring its jobs in line with the configuration, start scanning."""
        global _current
        with _current_lock:
            if _current is not None:
                raise RuntimeError("a seller-health daemon is already running in this process")
            _current = self
        self._clock_patch.__enter__()
        try:
            self.scheduler.start(paused=True)
            self._reconcile()
            self.scheduler.resume()
        except BaseException:
            self._release()
            raise

    def tick(self) -> float | None:
        """Submit the jobs due at the clock's time; seconds until the next one (None: none)."""
        return self.scheduler.tick()

    def serve(self) -> int:
        """Run until SIGTERM or SIGINT, then shut down cleanly; the exit code (0)."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self.start()
            database = self.engine.url.render_as_string(hide_password=True)
            jobs = [job.id for job in self.jobs]
            self._event("started", database=database, jobs=jobs)
            while not self.stop.is_set():
                wait = self.tick()
                self.scheduler.pause_until(wait)
            self._event("stopping", signal=self._signal_name)
        finally:
            if _current is self:
                self.shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self._event("stopped", resume_next_start=sorted(self.interrupted))
        return 0

    def _event(self, event: str, **fields: Any) -> None:
        moment = self.clock.now().astimezone(self.log_tz).isoformat(timespec="seconds")
        self.emit({"event": event, "time": moment, **fields})

    def request_stop(self) -> None:
        self.stop.set()
        self.scheduler.wakeup()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set():  # the second signal: the operator will not wait
            os.write(2, b'{"event": "forced exit"}\n')
            os._exit(1)
        self._signal_name = signal.Signals(signum).name
        self.request_stop()

    def shutdown(self) -> None:
        """Wait for running jobs (syncs stop at a page boundary), keep the interrupted ones due
        so the next start resumes them, then close the job store."""
        self.stop.set()
        try:
            self.scheduler._lookup_executor("default").shutdown(wait=True)
            now = self.clock.now()
            for job_id in sorted(self.interrupted):
                with contextlib.suppress(JobLookupError):
                    self.scheduler.modify_job(job_id, next_run_time=now, kwargs=RESUME)
            self.scheduler.shutdown(wait=False)
        finally:
            self._release()

    def _release(self) -> None:
        global _current
        self._clock_patch.__exit__(None, None, None)
        with _current_lock:
            if _current is self:
                _current = None

    def _reconcile(self) -> None:
        """Make the job store hold exactly the configured jobs. A job interrupted by the last
        shutdown runs now, however long the daemon was down (its sync resumes where it
        stopped). A job whose schedule did not change keeps its stored next run time, so a run
        missed while the daemon was down still happens (coalesced) now if within the grace
        time; a changed one starts afresh; jobs no longer configured go."""
        existing = {job.id: job for job in self.scheduler.get_jobs()}
        now = self.clock.now()
        for spec in self.jobs:
            old = existing.pop(spec.id, None)
            options: dict[str, Any] = {}
            if (self.run_now and spec.func == ACCOUNT_JOB) or (
                old is not None and old.kwargs.get("resume")
            ):
                options["next_run_time"] = now
            elif (
                old is not None
                and old.next_run_time is not None
                and repr(old.trigger) == repr(spec.trigger)
            ):
                options["next_run_time"] = old.next_run_time
            self.scheduler.add_job(
                spec.func,
                trigger=spec.trigger,
                args=spec.args,
                id=spec.id,
                name=spec.id,
                replace_existing=True,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=self.config.daemon.misfire_grace_seconds,
                **options,
            )
        for job_id in existing:
            self.scheduler.remove_job(job_id)

    # jobs

    def run_job(self, job_id: str, work: Callable[[Daemon], JobOutcome]) -> None:
        """Run one job and log exactly one line for it; never raises (APScheduler would only
        log a traceback)."""
        from seller_health.ingest.sync import SYNC_ERRORS, describe_sync_error

        started, clock_start = self.clock.now(), time.monotonic()
        with self._lock:
            fire = self._fire_times.pop(job_id, None)
        self._run.fire_time = fire
        if self.stop.is_set():
            result = JobOutcome("interrupted", fields={"note": "not started: shutting down"})
        else:
            try:
                result = work(self)
            except ConfigError as exc:
                result = JobOutcome("failed", fields={"error": str(exc)})
            except SYNC_ERRORS as exc:
                result = JobOutcome("failed", fields={"error": describe_sync_error(exc)})
            except Exception as exc:  # a bug or a database outage: keep the daemon alive
                result = JobOutcome(
                    "failed",
                    fields={
                        "error": f"{type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc(limit=8),
                    },
                )
        self._run.fire_time = None
        if result.outcome == "interrupted" and job_id.startswith("account:"):
            with self._lock:
                self.interrupted.add(job_id)
        record = {
            **_who(job_id),
            "started": started.astimezone(self.log_tz).isoformat(timespec="seconds"),
            **(
                {"scheduled": fire.astimezone(self.log_tz).isoformat(timespec="seconds")}
                if fire is not None
                else {}
            ),
            "duration_ms": round((time.monotonic() - clock_start) * 1000),
            "outcome": result.outcome,
            "counts": result.counts,
            **result.fields,
        }
        self.emit(record)

    def _on_event(self, event: SchedulerEvent) -> None:
        if isinstance(event, JobExecutionEvent):  # missed: later than the grace time
            scheduled = event.scheduled_run_time
            note = "started later than misfire_grace_seconds after its time: skipped"
            outcome = "missed"
        else:
            assert isinstance(event, JobSubmissionEvent)
            scheduled = event.scheduled_run_times[-1]
            note = "the previous run is still going"
            outcome = "skipped"
        self.emit(
            {
                **_who(event.job_id),
                "scheduled": scheduled.astimezone(self.log_tz).isoformat(timespec="seconds"),
                "outcome": outcome,
                "note": note,
            }
        )


# --- logging and the command ------------------------------------------------------------------


def emit_json(record: dict[str, Any]) -> None:
    """One log line: the record as JSON, with any secret read so far masked in its values
    before they are dumped: JSON escapes a secret holding ``"`` or ``\\`` out of recognition."""
    plain = json.loads(json.dumps(record, default=str))  # every value as JSON will show it
    log.info(redact(json.dumps(_masked(plain), ensure_ascii=False)))


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_masked(key): _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


class JsonFormatter(logging.Formatter):
    """Every line on stderr is a JSON object: ours as they are, libraries' wrapped."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.name == log.name and message.startswith("{"):
            return message
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(message),
        }
        if record.exc_info:
            doc["traceback"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False)


class _NoSkipWarnings(logging.Filter):
    """APScheduler's own "maximum number of running instances" warning: we log it as JSON."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in str(record.msg)


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.executors").setLevel(logging.ERROR)  # misses: our own lines
    logging.getLogger("apscheduler.scheduler").addFilter(_NoSkipWarnings())
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_daemon(
    config: Config,
    open_engine: Callable[[], Engine],
    *,
    run_now: bool = False,
    reports: bool = True,
) -> int:
    """``seller-health run``: refuse a configuration that cannot work (ConfigError), else open
    the store (``open_engine``: the CLI's, which turns an unusable database into a clear error)
    and serve until a signal; the exit code."""
    problems = []
    for ref in config.secret_refs():
        try:
            ref.read()
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(problems[0], problems)
    if not wanted_jobs(config):
        raise ConfigError(
            "nothing to schedule: give accounts a 'schedule' (and recipients one for digests)"
        )
    configure_logging()
    engine = open_engine()
    if engine.dialect.name == "sqlite" and not engine.url.database:
        raise ConfigError("database: the daemon needs a database file or server, not memory")
    daemon = Daemon(config, engine, run_now=run_now, reports=reports)
    return daemon.serve()
