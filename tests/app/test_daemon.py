"""``seller-health run``: schedules, coalescing, one run per account, restarts and SIGTERM.

The scheduler tests step a fake clock through :class:`Daemon` (``tick`` scans once) with the
job store in a real database file; the last test runs the real command against the simulator
and stops it with SIGTERM in the middle of a sync.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.executors.debug import DebugExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from sqlalchemy import func, select

from seller_health.app import daemon as daemon_module
from seller_health.app.daemon import Daemon, JobOutcome, emit_json
from seller_health.config import load_config
from seller_health.ingest.sync import bookmark
from seller_health.simulator.config import (
    FaultConfig,
    ReportTiming,
    SellerAccount,
    SimulatorConfig,
)
from seller_health.simulator.server import run_in_thread
from seller_health.store.db import open_store
from seller_health.store.models import CheckRun, Order
from tests.factory import Seller, ago

MONDAY = datetime(2026, 3, 2, 9, 55, tzinfo=UTC)  # a Monday


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    """That Monday at hour:minute:second UTC."""
    return datetime(2026, 3, 2, hour, minute, second, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


def write_config(tmp_path: Path, accounts: dict[str, str], extra: str = "") -> Path:
    """A configuration of imported (eBay) accounts, each with the given schedule."""
    text = extra + "\n"
    for account_id, schedule in accounts.items():
        text += f'[accounts.{account_id}]\nmarketplace = "ebay"\nschedule = "{schedule}"\n'
    path = tmp_path / "seller-health.toml"
    path.write_text(text)
    return path


@pytest.fixture
def store(tmp_path):
    engine = open_store(str(tmp_path / "store.db"))
    yield engine
    engine.dispose()


@pytest.fixture
def runs(monkeypatch):
    """Replace the work of account and digest jobs: record (who, fake now) instead."""
    calls: list[tuple[str, datetime]] = []

    def fake_account(daemon, account_id):
        calls.append((account_id, daemon.clock.now()))
        return JobOutcome(counts={"orders_fetched": 0})

    def fake_digest(daemon, recipient):
        calls.append((f"digest:{recipient}", daemon.clock.now()))
        return JobOutcome()

    monkeypatch.setattr(daemon_module, "run_account", fake_account)
    monkeypatch.setattr(daemon_module, "run_digest", fake_digest)
    return calls


def make_daemon(path, engine, clock, lines=None, executor=None, **kw) -> Daemon:
    return Daemon(
        load_config(path),
        engine,
        clock=clock,
        executor=executor or DebugExecutor(),
        emit=(lines.append if lines is not None else lambda record: None),
        **kw,
    )


def test_schedules_fire_at_their_cron_times_in_the_accounts_timezone(tmp_path, store, runs):
    path = write_config(tmp_path, {"hourly": "0 * * * *"})
    with path.open("a") as f:  # crontab's 1 is Monday; 09:30 in Rome is 08:30 UTC in March
        f.write('[accounts.weekly]\nmarketplace = "ebay"\ntimezone = "Europe/Rome"\n')
        f.write('schedule = "30 9 * * 1"\n')
    clock = FakeClock(at(8, 1))
    daemon = make_daemon(path, store, clock)
    daemon.start()
    try:
        assert daemon.tick() == pytest.approx(29 * 60)  # weekly is next, at 08:30 UTC
        assert runs == []
        clock.advance(minutes=29)
        daemon.tick()
        assert runs == [("weekly", at(8, 30))]
        clock.advance(minutes=30)
        daemon.tick()
        daemon.tick()  # the same moment again: nothing new
        assert [who for who, _ in runs] == ["weekly", "hourly"]
        clock.advance(minutes=59)
        daemon.tick()
        assert len(runs) == 2
        clock.advance(minutes=1)
        daemon.tick()
        assert [who for who, _ in runs] == ["weekly", "hourly", "hourly"]
        weekly = daemon.scheduler.get_job("account:weekly").next_run_time
        assert weekly == datetime(2026, 3, 9, 8, 30, tzinfo=UTC)  # next Monday, not Tuesday
    finally:
        daemon.shutdown()


def test_missed_runs_coalesce_into_one_after_downtime(tmp_path, store, runs):
    path = write_config(tmp_path, {"acme": "*/10 * * * *"})
    clock = FakeClock(MONDAY)
    first = make_daemon(path, store, clock)
    first.start()
    clock.advance(minutes=5)
    first.tick()
    assert runs == [("acme", at(10, 0))]
    first.shutdown()

    clock.advance(minutes=47)  # down over 10:10, 10:20, 10:30 and 10:40
    lines: list[dict] = []
    second = make_daemon(path, store, clock, lines)
    second.start()
    try:
        job = second.scheduler.get_job("account:acme")
        assert job.next_run_time == at(10, 10)  # kept from the store
        second.tick()
        second.tick()
        assert runs[1:] == [("acme", at(10, 47))]  # once, not four
        assert (
            job.trigger.get_next_fire_time(None, clock.now())
            == second.scheduler.get_job("account:acme").next_run_time
        )
        assert [line["outcome"] for line in lines] == ["ok"]
    finally:
        second.shutdown()


def test_a_run_later_than_the_grace_time_is_skipped(tmp_path, store, runs):
    path = write_config(tmp_path, {"acme": "0 * * * *"}, "[daemon]\nmisfire_grace_seconds = 300")
    clock = FakeClock(at(9, 30))
    first = make_daemon(path, store, clock)
    first.start()
    first.shutdown()

    clock.advance(minutes=50)  # 10:20: the 10:00 run is 20 minutes late, the grace is 5
    lines: list[dict] = []
    second = make_daemon(path, store, clock, lines)
    second.start()
    try:
        second.tick()
        assert runs == []
        assert lines == [
            {
                "job": "sync_check",
                "account": "acme",
                "scheduled": "2026-03-02T10:00:00+00:00",
                "outcome": "missed",
                "note": "started later than misfire_grace_seconds after its time: skipped",
            }
        ]
        clock.advance(minutes=40)
        second.tick()
        assert runs == [("acme", at(11, 0))]
    finally:
        second.shutdown()


def test_one_run_at_a_time_per_account(tmp_path, store, monkeypatch):
    path = write_config(tmp_path, {"slow": "* * * * *", "quick": "* * * * *"})
    release, started = threading.Event(), threading.Event()
    calls: list[str] = []

    def fake_account(daemon, account_id):
        calls.append(account_id)
        if account_id == "slow":
            started.set()
            assert release.wait(10)
        return JobOutcome()

    monkeypatch.setattr(daemon_module, "run_account", fake_account)
    clock = FakeClock(at(9, 55, 30))
    lines: list[dict] = []
    daemon = make_daemon(path, store, clock, lines, executor=ThreadPoolExecutor(4))
    daemon.start()
    try:
        clock.advance(seconds=30)
        daemon.tick()
        assert started.wait(5)
        deadline = time.monotonic() + 5
        while calls.count("quick") < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        clock.advance(minutes=1)
        daemon.tick()  # "slow" is still running: its second run is refused, "quick" runs again
        deadline = time.monotonic() + 5
        while calls.count("quick") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert calls.count("slow") == 1 and calls.count("quick") == 2
        assert {"job": "sync_check", "account": "slow", "outcome": "skipped"}.items() <= next(
            line for line in lines if line["outcome"] == "skipped"
        ).items()
    finally:
        release.set()
        daemon.shutdown()
    assert calls.count("slow") == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def job_db(request, tmp_path):
    """A database URL of its own: the job store adds a table the shared test database must not
    get (the migrations test compares that database with the models)."""
    if request.param == "sqlite":
        yield str(tmp_path / "jobs.db")
        return
    from tests.conftest import PG_ADMIN_URL, _pg_admin

    try:
        admin = _pg_admin()
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    name = f"seller_health_jobs_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_the_job_store_survives_a_restart_and_follows_the_configuration(tmp_path, job_db, runs):
    engine = open_store(job_db)
    path = write_config(tmp_path, {"a": "0 * * * *", "b": "0 * * * *"})
    clock = FakeClock(MONDAY)
    first = make_daemon(path, engine, clock)
    first.start()
    first.shutdown()

    engine = open_store(job_db)  # the store's engine was disposed with the scheduler
    probe = make_daemon(path, engine, clock)
    probe.jobs = []  # configure nothing: what the store holds is what comes back
    probe.scheduler.start(paused=True)
    stored = {job.id: job for job in probe.scheduler.get_jobs()}
    probe.scheduler.shutdown(wait=False)
    assert sorted(stored) == ["account:a", "account:b"]
    assert stored["account:a"].func_ref == "seller_health.app.daemon:account_job"
    assert stored["account:a"].args == ("a",)
    assert stored["account:a"].max_instances == 1 and stored["account:a"].coalesce
    assert stored["account:a"].misfire_grace_time == 3600
    assert stored["account:a"].next_run_time == at(10, 0)

    engine = open_store(job_db)
    edited = write_config(
        tmp_path,
        {"a": "30 * * * *", "c": "0 * * * *"},  # a changed, b removed, c new
        "[daemon]\nmisfire_grace_seconds = 60",
    )
    second = make_daemon(edited, engine, clock)
    second.start()
    try:
        jobs = {job.id: job for job in second.scheduler.get_jobs()}
        assert sorted(jobs) == ["account:a", "account:c"]
        assert jobs["account:a"].next_run_time == at(10, 30)
        assert jobs["account:a"].misfire_grace_time == 60
    finally:
        second.shutdown()


def test_run_now_runs_every_account_at_start(tmp_path, store, runs):
    path = write_config(tmp_path, {"a": "0 3 * * *"})
    daemon = make_daemon(path, store, FakeClock(MONDAY), run_now=True)
    daemon.start()
    try:
        daemon.tick()
        assert runs == [("a", MONDAY)]
    finally:
        daemon.shutdown()


def test_an_interrupted_run_is_due_again_at_the_next_start(tmp_path, store, monkeypatch):
    path = write_config(tmp_path, {"acme": "0 * * * *"})
    outcomes = iter(["interrupted", "ok"])
    seen: list[datetime] = []

    def fake_account(daemon, account_id):
        seen.append(daemon.clock.now())
        return JobOutcome(next(outcomes))

    monkeypatch.setattr(daemon_module, "run_account", fake_account)
    clock = FakeClock(MONDAY)
    first = make_daemon(path, store, clock)
    first.start()
    clock.advance(minutes=5)
    first.tick()  # the 10:00 run, stopped halfway
    clock.advance(minutes=1)
    first.shutdown()
    assert first.interrupted == {"account:acme"}

    clock.advance(minutes=10)
    lines: list[dict] = []
    second = make_daemon(path, store, clock, lines)
    second.start()
    try:
        second.tick()  # 10:11: resumed now, not at 11:00
        assert seen == [at(10, 0), at(10, 11)]
        assert [line["outcome"] for line in lines] == ["ok"]
        assert second.scheduler.get_job("account:acme").next_run_time == at(11, 0)
    finally:
        second.shutdown()


def test_an_interrupted_run_resumes_even_after_a_downtime_longer_than_the_grace(
    tmp_path, store, monkeypatch
):
    path = write_config(tmp_path, {"acme": "0 3 * * *"})  # grace: 1 h by default
    outcomes = iter(["interrupted", "ok"])
    seen: list[datetime] = []

    def fake_account(daemon, account_id):
        seen.append(daemon.clock.now())
        return JobOutcome(next(outcomes))

    monkeypatch.setattr(daemon_module, "run_account", fake_account)
    clock = FakeClock(at(2, 59))
    first = make_daemon(path, store, clock)
    first.start()
    clock.advance(minutes=1)
    first.tick()  # the 03:00 run, stopped halfway by SIGTERM
    first.shutdown()

    clock.advance(hours=2)  # back 2 h later
    lines: list[dict] = []
    second = make_daemon(path, store, clock, lines)
    second.start()
    try:
        second.tick()
        assert seen == [at(3, 0), at(5, 0)]
        assert [line["outcome"] for line in lines] == ["ok"]
        job = second.scheduler.get_job("account:acme")
        assert job.next_run_time == datetime(2026, 3, 3, 3, 0, tzinfo=UTC) and job.kwargs == {}
    finally:
        second.shutdown()


def test_a_failing_job_logs_one_line_and_the_daemon_goes_on(tmp_path, store, monkeypatch):
    path = write_config(tmp_path, {"acme": "* * * * *"})

    def broken(daemon, account_id):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(daemon_module, "run_account", broken)
    clock = FakeClock(at(9, 55, 0))
    lines: list[dict] = []
    daemon = make_daemon(path, store, clock, lines)
    daemon.start()
    try:
        daemon.tick()
        clock.advance(minutes=1)
        daemon.tick()
    finally:
        daemon.shutdown()
    assert [line["outcome"] for line in lines] == ["failed", "failed"]
    assert lines[0]["error"] == "RuntimeError: the disk is full"
    assert "Traceback" in lines[0]["traceback"]


def test_the_real_job_checks_keeps_the_run_and_mails_the_report(tmp_path, store, monkeypatch):
    seller = Seller("acme")
    for i in range(20):
        seller.order(f"o{i}", ago(days=3 + i))
    seller.save(store)
    path = write_config(
        tmp_path,
        {"acme": "* * * * *"},
        textwrap.dedent(
            """
            [smtp]
            host = "mail.test"
            sender = "reports@example.com"
            [recipients.owner]
            email = "owner@example.com"
            accounts = ["acme"]
            schedule = "0 8 * * *"
            """
        ),
    )
    mailed: list[tuple] = []

    class Sent:
        ok = True

    def deliver_account_report(engine, config, account_id):
        mailed.append(("report", account_id))
        return [Sent()]

    def deliver_digest(engine, config, recipient):
        mailed.append(("digest", recipient))
        return [Sent(), Sent()]

    from seller_health.notify import delivery

    monkeypatch.setattr(delivery, "deliver_account_report", deliver_account_report)
    monkeypatch.setattr(delivery, "deliver_digest", deliver_digest)
    clock = FakeClock(datetime.now(UTC).replace(hour=7, minute=59, second=30, microsecond=0))
    lines: list[dict] = []
    daemon = make_daemon(path, store, clock, lines)
    daemon.start()
    try:
        clock.advance(seconds=30)
        daemon.tick()
    finally:
        daemon.shutdown()
    with store.connect() as conn:
        run_id = conn.execute(select(func.max(CheckRun.__table__.c.run_id))).scalar_one()
    assert ("report", "acme") in mailed and ("digest", "owner") in mailed
    account_line = next(line for line in lines if line["job"] == "sync_check")
    assert account_line["outcome"] == "ok" and account_line["run_id"] == run_id
    assert account_line["counts"]["rules"] > 0 and account_line["counts"]["emails_sent"] == 1
    assert set(account_line) >= {"account", "started", "duration_ms", "outcome", "counts"}
    digest_line = next(line for line in lines if line["job"] == "digest")
    assert digest_line["recipient"] == "owner" and digest_line["counts"]["emails_sent"] == 2


def test_log_lines_are_json_and_mask_secrets(caplog, monkeypatch):
    from seller_health.config import read_secret

    monkeypatch.setenv("T_DAEMON_SECRET", "hunter2-secret")
    read_secret("T_DAEMON_SECRET", "test")
    with caplog.at_level("INFO", logger="seller_health.app.daemon"):
        emit_json({"job": "sync_check", "error": "token hunter2-secret refused"})
    record = json.loads(caplog.records[-1].getMessage())
    assert record == {"job": "sync_check", "error": "token *** refused"}


def test_secrets_that_json_escapes_are_masked_too(caplog, monkeypatch):
    from seller_health.config import read_secret

    secret = 'pa"ss\\word9'
    monkeypatch.setenv("T_DAEMON_QUOTED_SECRET", secret)
    read_secret("T_DAEMON_QUOTED_SECRET", "test")
    with caplog.at_level("INFO", logger="seller_health.app.daemon"):
        emit_json({"job": "sync_check", "error": f"login refused for {secret}", "at": MONDAY})
    line = caplog.records[-1].getMessage()
    assert "word9" not in line
    assert json.loads(line) == {
        "job": "sync_check",
        "error": "login refused for ***",
        "at": "2026-03-02 09:55:00+00:00",
    }


# --- the real command, stopped with SIGTERM in the middle of a sync ---------------------------

TOKEN = "Atzr|sim-daemon"
ORDERS = 1200  # 12 pages of 100, each answered after SLOW seconds


def _command(config: Path, db: str) -> list[str]:
    code = "from seller_health.app.cli import main; main()"
    return [sys.executable, "-c", code, "run", "--config", str(config), "--db", db]


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.slow
def test_sigterm_mid_sync_exits_0_and_a_restart_resumes_without_gap_or_duplicate(tmp_path):
    slow = FaultConfig(slow=1.0, slow_seconds=0.25, operations=frozenset({"searchOrders"}))
    sim = SimulatorConfig(
        seed=11,
        accounts=[SellerAccount(refresh_token=TOKEN, order_count=ORDERS)],
        rate_scale=100.0,
        faults=slow,
        report_timing=ReportTiming(polls_in_queue=0, polls_in_progress=0),
    )
    base_url, stop = run_in_thread(sim)
    try:
        config = tmp_path / "seller-health.toml"
        config.write_text(
            textwrap.dedent(
                f"""
                [accounts.acme-us]
                marketplace = "amazon"
                marketplace_ids = ["ATVPDKIKX0DER"]
                lwa_client_id = "{sim.client_id}"
                lwa_client_secret_env = "T_DAEMON_LWA_SECRET"
                refresh_token_env = "T_DAEMON_REFRESH"
                api_url = "{base_url}"
                lwa_url = "{base_url}/auth/o2/token"
                schedule = "0 3 * * *"
                """
            )
        )
        env = dict(os.environ, T_DAEMON_LWA_SECRET=sim.client_secret, T_DAEMON_REFRESH=TOKEN)
        db = str(tmp_path / "store.db")
        engine = open_store(db)
        orders = Order.__table__
        truth = {o.order_id for o in stop.simulator.orders_for(TOKEN)}
        assert len(truth) == ORDERS

        first_log = tmp_path / "first.log"
        with first_log.open("w") as err:
            first = subprocess.Popen([*_command(config, db), "--run-now"], env=env, stderr=err)
        deadline = time.monotonic() + 60
        while _count(engine, orders) < 200 and time.monotonic() < deadline:
            assert first.poll() is None, first_log.read_text()
            time.sleep(0.05)
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0, first_log.read_text()
        log = first_log.read_text()
        stored_when_stopped = _count(engine, orders)
        assert 0 < stored_when_stopped < ORDERS
        mark = bookmark(engine, "acme-us", "orders")
        assert mark.cursor is None and mark.pending["resume"]  # unfinished: a token, no cursor
        lines = _json_lines(log)
        job_lines = [line for line in lines if line.get("job") == "sync_check"]
        assert [line["outcome"] for line in job_lines] == ["interrupted"], log
        assert job_lines[0]["counts"]["orders_stored"] == stored_when_stopped
        stopping = next(line for line in lines if line.get("event") == "stopping")
        assert stopping["signal"] == "SIGTERM"
        assert _count(engine, CheckRun.__table__) == 0

        # No --run-now: the interrupted run is due at once in the job store.
        second_log = tmp_path / "second.log"
        with second_log.open("w") as err:
            second = subprocess.Popen(_command(config, db), env=env, stderr=err)
        deadline = time.monotonic() + 60
        while '"job": "sync_check"' not in second_log.read_text():
            assert second.poll() is None and time.monotonic() < deadline, second_log.read_text()
            time.sleep(0.1)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, second_log.read_text()
        log = second_log.read_text()
        job_lines = [line for line in _json_lines(log) if line.get("job") == "sync_check"]
        assert [line["outcome"] for line in job_lines] == ["ok"], log
        # It went on from the last stored page rather than reading the interval again.
        assert job_lines[0]["counts"]["orders_stored"] == ORDERS - stored_when_stopped
        assert job_lines[0]["counts"]["orders_updated"] < stored_when_stopped
        assert _count(engine, CheckRun.__table__) == 1
        with engine.connect() as conn:
            ids = conn.execute(select(orders.c.order_id)).scalars().all()
        assert len(ids) == len(set(ids)) == ORDERS and set(ids) == truth
        assert bookmark(engine, "acme-us", "orders").cursor is not None
        for secret in (sim.client_secret, TOKEN):
            assert secret not in first_log.read_text() + log
    finally:
        stop()


def _late_shipments(
    tmp_path: Path,
    store,
    smtp_port: int,
    *,
    hold: str | None = None,
    email: str = '"owner@example.com"',
) -> Path:
    """A pack breaching at 20% late shipments (``for: hold``), a seller whose 10 orders
    shipped on time, checked hourly, and the configuration mailing ``email`` about it."""
    rule = textwrap.dedent(
        """
        pack: late
        applies_to: all
        rules:
          - id: late.shipments
            title: Late shipments
            of: orders
            metric: rate
            window: {days: 30, by: purchased_at}
            bad: {compare: "shipped_at > ship_by"}
            breach: ">= 0.2"
            items: orders
        """
    )
    (tmp_path / "late.yaml").write_text(rule + (f"    for: {hold}\n" if hold else ""))
    seller = Seller("acme", "ebay", name="Acme")
    for i in range(10):
        seller.order(f"o{i}", ago(days=5), ship_by=ago(days=3), shipped_at=ago(days=4))
    seller.save(store)
    path = tmp_path / "seller-health.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [smtp]
            host = "127.0.0.1"
            port = {smtp_port}
            security = "none"
            sender = "alerts@example.com"
            attempts = 1
            [accounts.acme]
            marketplace = "ebay"
            schedule = "0 * * * *"
            rules = ["late.yaml"]
            [recipients.owner]
            email = {email}
            accounts = ["acme"]
            """
        )
    )
    return path


def test_the_daemon_alerts_once_per_change_through_a_real_mail_server(tmp_path, store, serve):
    """Hourly checks; the account starts healthy, then breaches: one alert, not one per check."""
    from tests.notify.smtp import Recorder

    handler = Recorder()
    path = _late_shipments(tmp_path, store, serve(handler).port)
    clock = FakeClock(datetime(2026, 11, 1, 9, 59, tzinfo=UTC))
    lines: list[dict] = []
    daemon = make_daemon(path, store, clock, lines)
    daemon.start()
    try:

        def hour() -> list[str]:
            before = len(handler.received)
            clock.advance(hours=1)
            daemon.tick()
            return [r.parsed()["Subject"] for r in handler.received[before:]]

        reports = "[OK] Account health: Acme"
        assert hour() == [reports]  # 10:00: the first check is a starting point, no alert
        with store.begin() as conn:  # 3 of 10 orders now shipped late: 30% breaches
            conn.execute(
                Order.__table__.update()
                .where(Order.__table__.c.order_id.in_(["o0", "o1", "o2"]))
                .values(shipped_at=ago(days=2))
            )
        alert = "[Breach] Acme: OK → Breach"
        assert sorted(hour()) == sorted([alert, "[Breach] Account health: Acme"])  # 11:00
        assert hour() == ["[Breach] Account health: Acme"]  # 12:00: same state, no alert
    finally:
        daemon.shutdown()
    job_lines = [line for line in lines if line.get("job") == "sync_check"]
    assert [line["counts"]["alerts_sent"] for line in job_lines] == [0, 1, 0]


def test_a_failing_sync_still_checks_and_alerts_once_the_source_failed_too_long(
    tmp_path, store, serve, monkeypatch
):
    """The mailbox stops answering: each run still checks the stored data, the stream carries
    the error as its finding (its source alerts after ``source_failure_after``), and the next
    sync that works clears it."""
    from tests.notify.smtp import Recorder

    token = "Atzr|sim-mailbox-down"
    sim = SimulatorConfig(
        seed=3,
        accounts=[SellerAccount(refresh_token=token, order_count=30)],
        rate_scale=100.0,
        report_timing=ReportTiming(polls_in_queue=0, polls_in_progress=0),
    )
    base_url, stop = run_in_thread(sim)
    handler = Recorder()
    server = serve(handler)
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    monkeypatch.setenv("T_DOWN_LWA", sim.client_secret)
    monkeypatch.setenv("T_DOWN_TOKEN", token)
    path = tmp_path / "seller-health.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [smtp]
            host = "127.0.0.1"
            port = {server.port}
            security = "none"
            sender = "alerts@example.com"
            attempts = 1
            [alerts]
            source_failure_after = "1h"
            [accounts.acme-us]
            marketplace = "amazon"
            marketplace_ids = ["ATVPDKIKX0DER"]
            lwa_client_id = "{sim.client_id}"
            lwa_client_secret_env = "T_DOWN_LWA"
            refresh_token_env = "T_DOWN_TOKEN"
            api_url = "{base_url}"
            lwa_url = "{base_url}/auth/o2/token"
            schedule = "0 * * * *"
            [accounts.acme-us.mailbox]
            kind = "maildir"
            path = "{maildir}"
            [recipients.owner]
            email = "owner@example.com"
            accounts = ["acme-us"]
            """
        )
    )
    start = (datetime.now(UTC) - timedelta(hours=10)).replace(minute=59, second=0, microsecond=0)
    clock = FakeClock(start)
    lines: list[dict] = []
    daemon = make_daemon(path, store, clock, lines, reports=False)
    daemon.start()

    def hour() -> tuple[dict, list[str]]:
        before = len(handler.received)
        clock.advance(hours=1)
        daemon.tick()
        alerts = [str(r.parsed()["Subject"]) for r in handler.received[before:]]
        return lines[-1], [s for s in alerts if "Account health" not in s]

    try:
        line, alerts = hour()
        assert line["outcome"] == "ok" and alerts == []
        maildir.rename(tmp_path / "gone")  # the mailbox stops answering
        line, alerts = hour()
        assert line["outcome"] == "failed" and line["sync_failed"] == ["messages"]
        assert line["error"].startswith("messages: sync failed: Maildir")
        assert line["run_id"] and line["counts"]["rules"] > 0  # checked all the same
        assert alerts == []  # failing for less than source_failure_after
        finding = bookmark(store, "acme-us", "messages").pending["finding"]
        assert finding.startswith("sync failed: Maildir")
        line, alerts = hour()
        assert line["outcome"] == "failed" and line["counts"]["alerts_sent"] == 1
        assert alerts == ["[OK] acme-us: 1 data source is failing"]
        assert hour()[1] == []  # told once
        (tmp_path / "gone").rename(maildir)
        line, alerts = hour()
        assert line["outcome"] == "ok" and "sync_failed" not in line
        assert alerts == ["[OK] acme-us: data sources work again"]
        assert "finding" not in bookmark(store, "acme-us", "messages").pending
        with store.connect() as conn:
            assert conn.execute(select(func.count()).select_from(CheckRun)).scalar_one() == 5
    finally:
        daemon.shutdown()
        stop()


def test_for_of_one_interval_alerts_at_the_next_scheduled_run_whatever_the_jitter(
    tmp_path, store, serve
):
    """Hourly runs, ``for: 1h``: first seen at the 11:00 run, told at the 12:00 one, although
    the runs read the clock 40 s and 35 s after their time (a sync's duration varies)."""
    from tests.notify.smtp import Recorder

    handler = Recorder()
    path = _late_shipments(tmp_path, store, serve(handler).port, hold="1h")
    clock = FakeClock(datetime(2026, 11, 1, 9, 59, tzinfo=UTC))
    lines: list[dict] = []
    daemon = make_daemon(path, store, clock, lines)
    daemon.start()
    try:
        for hour, late_by in [(10, 40), (11, 40), (12, 35)]:
            clock.moment = datetime(2026, 11, 1, hour, 0, late_by, tzinfo=UTC)
            daemon.tick()
            if hour == 10:
                with store.begin() as conn:  # 3 of 10 orders now shipped late: a breach
                    conn.execute(
                        Order.__table__.update()
                        .where(Order.__table__.c.order_id.in_(["o0", "o1", "o2"]))
                        .values(shipped_at=ago(days=2))
                    )
    finally:
        daemon.shutdown()
    job_lines = [line for line in lines if line.get("job") == "sync_check"]
    assert [line["counts"]["alerts_sent"] for line in job_lines] == [0, 0, 1]
    assert [line["scheduled"] for line in job_lines] == [
        f"2026-11-01T{hour}:00:00+00:00" for hour in (10, 11, 12)
    ]


def test_mail_refused_by_some_addresses_fails_the_job_with_the_refusal(tmp_path, store, serve):
    """The owner's mails reach one of their two addresses: told (never sent again), but the
    job says so, with the server's refusal."""
    from tests.notify.test_mailer import RefuseRecipients

    handler = RefuseRecipients("lead@example.com")
    path = _late_shipments(
        tmp_path, store, serve(handler).port, email='["owner@example.com", "lead@example.com"]'
    )
    clock = FakeClock(datetime(2026, 11, 1, 9, 59, tzinfo=UTC))
    lines: list[dict] = []
    daemon = make_daemon(path, store, clock, lines)
    daemon.start()
    try:
        clock.advance(minutes=1)
        daemon.tick()
        with store.begin() as conn:
            conn.execute(
                Order.__table__.update()
                .where(Order.__table__.c.order_id.in_(["o0", "o1", "o2"]))
                .values(shipped_at=ago(days=2))
            )
        for _ in range(2):
            clock.advance(hours=1)
            daemon.tick()
    finally:
        daemon.shutdown()
    first, alerted, after = [line for line in lines if line.get("job") == "sync_check"]
    assert first["outcome"] == "failed"
    assert first["counts"]["emails_partial"] == 1 and first["counts"]["emails_sent"] == 0
    assert "only partly delivered: delivered to owner@example.com only" in first["error"]
    assert alerted["counts"]["alerts_partial"] == 1 and alerted["counts"]["alerts_sent"] == 0
    assert "alert to owner only partly delivered" in alerted["error"]
    assert "lead@example.com (550 5.1.1 mailbox unavailable)" in alerted["error"]
    assert after["counts"]["alerts_partial"] == 0  # told: not sent again
    subjects = [str(r.parsed()["Subject"]) for r in handler.received]
    assert subjects.count("[Breach] Acme: OK → Breach") == 1
    assert all(r.rcpt_tos == ("owner@example.com",) for r in handler.received)
