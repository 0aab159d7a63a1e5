"""Full-cycle benchmark: N Amazon accounts against the simulator, sync + check + alerts + reports.

    python bench/bench_cycle.py [--accounts 1000 --orders-per-account 200 --scale 10000
                                 --workers 4 --trouble 0.2 --postgres URL]

Set-up (not timed): the simulator serves ``--accounts`` seeded sellers (a ``--trouble`` share of
them in trouble) in its own process, with Amazon's usage plans multiplied by ``--scale``; an SMTP
sink (aiosmtpd) listens in this process; the store is a fresh SQLite file (or a scratch database
on ``--postgres``) holding each account's name and, per account, a notice that its seller was
last told "all OK", so that this cycle's alerts are real changes and are mailed.

One cycle, timed phase by phase in a child process (so its peak RSS is its own):
- sync: per account, a connector of its own (LWA token, client, rate limiter), its orders from the
  first sync's 400-day window, then its two Amazon reports (performance and feedback: create,
  poll, download, parse), on a thread pool of ``--workers`` as the daemon's worker pool does,
  all writing through one engine. The poll loop's waits (5 s, then 10 s) are divided by
  ``--scale`` like the quotas, else every report would cost 15 s of sleep;
- check: one ``evaluate`` of every built-in pack over all accounts, kept with ``save_run``;
- alerts: ``process_alerts`` for every account, mailed through the SMTP sink;
- reports: ``delivery.plan`` + ``compose_all`` (one report email per account, each seller its own
  recipient), sent to the SMTP sink in batches of 100 over one connection each.

Baselines, measured in the same run in a second child after the cycle:
- sync: fetch only, the same requests (fresh connectors, same pool: the orders pages, parsed,
  and the reports created, polled and downloaded) with nothing parsed into the store;
- check: reading every row of the synced tables once from Python;
- reports: each account's stored check read back and written as the JSON contract.
The quota floor (the burst at once, then one page per 1/rate seconds, per account) is printed
too; with a few pages per account it is zero at any scale, since quotas are per seller.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

SEARCH_RATE, SEARCH_BURST = 0.0056, 20  # searchOrders: Amazon's plan (the client keeps burst 20)
MARKETPLACE = "ATVPDKIKX0DER"
SENDER = "reports@agency.example"
MAIL_BATCH = 100


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def account_id(i: int) -> str:
    return f"bench-{i:04d}"


def refresh_token(i: int) -> str:
    return f"Atzr|bench-{i:04d}"


def in_trouble(i: int, share: float) -> bool:
    """Spread the troubled accounts evenly: account i is in trouble when floor(i*share) steps."""
    return math.floor((i + 1) * share) > math.floor(i * share)


def bench_config(accounts: int, smtp_port: int) -> Any:
    from seller_health.config import Config

    return Config.model_validate(
        {
            "smtp": {
                "host": "127.0.0.1",
                "port": smtp_port,
                "security": "none",
                "sender": SENDER,
                "attempts": 1,
            },
            "recipients": {
                f"seller-{i:04d}": {
                    "email": f"owner{i:04d}@shop.example",
                    "accounts": [account_id(i)],
                }
                for i in range(accounts)
            },
        }
    )


def connector(i: int, params: dict[str, Any], requests: Counter[str]) -> Any:
    """Account i's connector; every HTTP request it makes (LWA, SP-API, downloads) is counted."""
    from seller_health.connectors.amazon import AmazonCredentials, connect_amazon
    from seller_health.simulator.config import SimulatorConfig

    defaults = SimulatorConfig(accounts=[])
    base_url = params["base_url"]
    amazon = connect_amazon(
        account_id(i),
        AmazonCredentials(defaults.client_id, defaults.client_secret, refresh_token(i)),
        [MARKETPLACE],
        api_url=base_url,
        lwa_url=f"{base_url}/auth/o2/token",
        rate_scale=params["scale"],
    )
    lock = threading.Lock()

    def count(request: Any) -> None:
        with lock:
            requests[request.url.path.split("/")[1]] += 1

    amazon.caller.client.event_hooks["request"].append(count)
    return amazon


# --- the cycle (child process) ------------------------------------------------------------


def set_up(engine: Any, accounts: int) -> None:
    """Accounts named, and each seller last told "all OK" a week ago (not timed)."""
    from seller_health.store.models import Account, AlertNotice
    from seller_health.store.writes import upsert
    from seller_health.timeutil import utcnow

    week_ago = utcnow().replace(microsecond=0) - timedelta(days=7)
    rows = [
        {"account_id": account_id(i), "marketplace": "amazon", "name": f"Shop {i:04d}"}
        | {"locale": "en", "timezone": "UTC"}
        for i in range(accounts)
    ]
    notices = [
        {"account_id": account_id(i), "recipient": f"seller-{i:04d}", "status": "ok"}
        | {"rules": {}, "sources": {}, "notified_at": week_ago, "outcome": "sent"}
        for i in range(accounts)
    ]
    with engine.begin() as conn:
        upsert(conn, Account.__table__, rows)
        upsert(conn, AlertNotice.__table__, notices)


def phase_cycle(params: dict[str, Any]) -> None:
    from seller_health.app import service
    from seller_health.engine.rules import builtin_packs
    from seller_health.ingest.sync import sync_reports, sync_stream
    from seller_health.notify.alerts import process_alerts
    from seller_health.notify.delivery import compose_all, plan
    from seller_health.notify.mailer import send
    from seller_health.store.db import open_store
    from seller_health.timeutil import utcnow

    n, scale = params["accounts"], params["scale"]
    engine = open_store(params["db"])
    set_up(engine, n)
    config = bench_config(n, params["smtp_port"])
    packs = builtin_packs()
    requests: Counter[str] = Counter()
    figures: dict[str, Any] = {"setup_peak_mb": peak_mb()}

    def report_sleep(seconds: float) -> None:
        time.sleep(seconds / scale)

    def sync_one(i: int) -> dict[str, Any]:
        amazon = connector(i, params, requests)
        try:
            start = time.perf_counter()
            orders = sync_stream(engine, amazon, "orders")
            done: dict[str, Any] = {"orders_s": time.perf_counter() - start}
            if params["reports"]:
                start = time.perf_counter()
                reports = sync_reports(engine, amazon, sleep=report_sleep)
                done["reports_s"] = time.perf_counter() - start
                done["report_rows"] = sum(r.stored for r in reports)
                done["report_notes"] = [note for r in reports for note in r.notes]
            stats = amazon.caller.stats
            return done | {
                "stored": orders.stored,
                "fetched": orders.fetched,
                "quarantined": orders.quarantined,
                "finding": orders.finding,
                "sp_api": stats.requests,
                "throttled": stats.throttled,
                "waited_s": stats.waited_seconds,
            }
        finally:
            amazon.caller.client.close()

    # sync
    start, cpu = time.perf_counter(), cpu_s()
    with ThreadPoolExecutor(params["workers"], thread_name_prefix="account") as pool:
        synced = list(pool.map(sync_one, range(n)))
    figures["sync_s"] = time.perf_counter() - start
    figures["sync_cpu_s"] = cpu_s() - cpu
    figures["sync_peak_mb"] = peak_mb()
    for key in ("stored", "fetched", "quarantined", "sp_api", "throttled", "waited_s"):
        figures[key] = sum(s[key] for s in synced)
    figures["orders_s"] = sum(s["orders_s"] for s in synced)
    figures["reports_s"] = sum(s.get("reports_s", 0.0) for s in synced)
    figures["report_rows"] = sum(s.get("report_rows", 0) for s in synced)
    figures["findings"] = [s["finding"] for s in synced if s["finding"]][:5]
    notes = [note for s in synced for note in s.get("report_notes", [])]
    figures["report_notes"] = dict(Counter(note.split(" ", 2)[-1] for note in notes))
    figures["http"] = dict(requests)

    # check
    start = time.perf_counter()
    as_of = utcnow().replace(microsecond=0)
    result = service.check(engine, packs, as_of=as_of, keep=False)
    figures["evaluate_s"] = time.perf_counter() - start
    service.keep_run(engine, result)
    figures["check_s"] = time.perf_counter() - start
    figures["check_peak_mb"] = peak_mb()
    figures["rule_results"] = sum(len(a.results) for a in result.accounts)
    figures["statuses"] = dict(Counter(a.status for a in result.accounts))
    ids = [a.account_id for a in result.accounts]
    del result

    # alerts
    start = time.perf_counter()
    outcome = process_alerts(engine, config, ids, utcnow(), packs={a: packs for a in ids})
    figures["alerts_s"] = time.perf_counter() - start
    figures["alerts_peak_mb"] = peak_mb()
    figures["alerts"] = dict(Counter(d.action for d in outcome.decisions))

    # reports
    start = time.perf_counter()
    mailings = plan(engine, config)
    sending, size, sent, failed, empty = 0.0, 0, 0, 0, 0
    batch = []

    def flush() -> tuple[float, int, int]:
        began = time.perf_counter()
        deliveries = send(config.smtp, batch)
        ok = sum(d.ok for d in deliveries)
        batch.clear()
        return time.perf_counter() - began, ok, len(deliveries) - ok

    for _, message in compose_all(engine, config, mailings):
        if message is None:
            empty += 1
            continue
        size += len(bytes(message))
        batch.append(message)
        if params["send"] and len(batch) >= MAIL_BATCH:
            took, ok, bad = flush()
            sending, sent, failed = sending + took, sent + ok, failed + bad
        elif not params["send"]:
            batch.clear()
    if batch:
        took, ok, bad = flush()
        sending, sent, failed = sending + took, sent + ok, failed + bad
    figures["reports_phase_s"] = time.perf_counter() - start
    figures["send_s"] = sending
    figures["compose_s"] = figures["reports_phase_s"] - sending
    figures["emails"] = {"composed": len(mailings) - empty, "empty": empty}
    figures["emails"] |= {"sent": sent, "failed": failed, "mean_kb": size / max(1, n) / 1024}
    figures["peak_mb"] = peak_mb()
    print(json.dumps(figures))


# --- the baselines (second child process) -------------------------------------------------


def phase_baseline(params: dict[str, Any]) -> None:
    from sqlalchemy import text

    from seller_health.connectors.amazon import REPORTS
    from seller_health.connectors.amazon_reports import (
        FEEDBACK,
        PERFORMANCE,
        poll_report,
        request_report,
    )
    from seller_health.ingest.sync import FIRST_SYNC
    from seller_health.reports.json import render_json
    from seller_health.store.db import open_store
    from seller_health.store.history import load_latest
    from seller_health.timeutil import utcnow

    n, scale = params["accounts"], params["scale"]
    figures: dict[str, Any] = {}
    requests: Counter[str] = Counter()

    def fetch_one(i: int) -> int:
        amazon = connector(i, params, requests)
        try:
            now = utcnow()
            end = now - amazon.settle
            fetched = sum(len(page.records) for page in amazon.orders(end - FIRST_SYNC, end))
            if params["reports"]:
                span = next(r.span for r in REPORTS if r.kind == FEEDBACK)
                windows = ((PERFORMANCE, None, None), (FEEDBACK, now - span, now))
                for report_type, start, stop in windows:
                    report_id = request_report(amazon, report_type, start, stop)
                    poll_report(amazon, report_id, sleep=lambda s: time.sleep(s / scale))
            return fetched
        finally:
            amazon.caller.client.close()

    start, cpu = time.perf_counter(), cpu_s()
    with ThreadPoolExecutor(params["workers"], thread_name_prefix="fetch") as pool:
        figures["fetched"] = sum(pool.map(fetch_one, range(n)))
    figures["fetch_s"] = time.perf_counter() - start
    figures["fetch_cpu_s"] = cpu_s() - cpu
    figures["fetch_http"] = sum(requests.values())

    engine = open_store(params["db"])
    start = time.perf_counter()
    rows = 0
    with engine.connect() as conn:
        for table in ("orders", "events", "official_metrics"):
            result = conn.execution_options(stream_results=True, yield_per=10_000).execute(
                text(f"SELECT * FROM {table}")
            )
            rows += sum(1 for _ in result)
    figures["read_all_s"] = time.perf_counter() - start
    figures["read_all_rows"] = rows

    start = time.perf_counter()
    for i in range(n):
        render_json(load_latest(engine, [account_id(i)]))
    figures["json_s"] = time.perf_counter() - start
    print(json.dumps(figures))


# --- driver ---------------------------------------------------------------------------------


def child(phase: str, params: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--phase", phase, json.dumps(params)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


class Sink:
    """An SMTP server that accepts everything and counts it."""

    def __init__(self) -> None:
        self.messages, self.bytes = 0, 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages += 1
        self.bytes += len(envelope.content)
        return "250 OK"


def start_simulator(args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "seller_health.simulator", "--port", str(port)]
    command += ["--seed", "11", "--rate-scale", str(args.scale)]
    for i in range(args.accounts):
        state = "trouble" if in_trouble(i, args.trouble) else "healthy"
        command += ["--account", f"{refresh_token(i)}:{MARKETPLACE}:{args.orders_per_account}"]
        command[-1] += f":{state}"
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("the simulator did not start") from None
            time.sleep(0.2)


def cpu_of(pid: int) -> float:
    """Another process's CPU seconds so far (user + system); 0 where /proc does not say."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_of(pid: int) -> float:
    """Another process's peak RSS (VmHWM), in MB; 0 where /proc does not say."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def scratch_postgres(admin_url: str) -> tuple[str, Any]:
    import uuid

    import psycopg

    name = f"seller_health_cycle_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{admin_url.rsplit('/', 1)[0]}/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--orders-per-account", type=int, default=200)
    parser.add_argument("--scale", type=float, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--trouble", type=float, default=0.2, help="share of accounts in trouble")
    parser.add_argument("--no-reports", action="store_true", help="sync orders only")
    parser.add_argument("--no-send", action="store_true", help="compose report emails only")
    parser.add_argument("--postgres", metavar="URL", help="a server to make a scratch database on")
    parser.add_argument("--phase", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        {"cycle": phase_cycle, "baseline": phase_baseline}[args.phase[0]](json.loads(args.phase[1]))
        return

    from aiosmtpd.controller import Controller

    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    port = free_port()
    start = time.perf_counter()
    server = start_simulator(args, port)
    started = time.perf_counter() - start
    tmp = tempfile.TemporaryDirectory(prefix="bench-cycle-")
    drop = None
    try:
        if args.postgres:
            db, drop = scratch_postgres(args.postgres)
        else:
            db = str(Path(tmp.name) / "cycle.db")
        params = {
            "accounts": args.accounts,
            "scale": args.scale,
            "workers": args.workers,
            "base_url": f"http://127.0.0.1:{port}",
            "smtp_port": smtp_port,
            "db": db,
            "reports": not args.no_reports,
            "send": not args.no_send,
        }
        before = cpu_of(server.pid)
        cycle = child("cycle", params)
        cycle["simulator_cpu_s"] = cpu_of(server.pid) - before  # only the sync calls it
        alert_mails = sink.messages - cycle["emails"]["sent"]
        before = cpu_of(server.pid)
        base = child("baseline", params)
        base["simulator_cpu_s"] = cpu_of(server.pid) - before  # only the fetch calls it
        simulator_mb = peak_of(server.pid)
    finally:
        server.terminate()
        server.wait()
        controller.stop()
        if drop is not None:
            drop()
        tmp.cleanup()
    report(args, cycle, base, started, simulator_mb, alert_mails, sink)


def report(
    args: argparse.Namespace,
    c: dict[str, Any],
    b: dict[str, Any],
    started: float,
    simulator_mb: float,
    alert_mails: int,
    sink: Sink,
) -> None:
    n, scale, http = args.accounts, args.scale, c["http"]
    pages = math.ceil(http.get("orders", 0) / n)  # searchOrders calls per seller, as measured
    floor = n * max(0, pages - SEARCH_BURST) / (SEARCH_RATE * scale) / args.workers
    total = c["sync_s"] + c["check_s"] + c["alerts_s"] + c["reports_phase_s"]
    store = "PostgreSQL (scratch database)" if args.postgres else "SQLite file"
    trouble = sum(in_trouble(i, args.trouble) for i in range(n))
    print(
        f"seller-health full cycle: {n:,} accounts x {args.orders_per_account} orders "
        f"({trouble} in trouble), store {store}"
    )
    print(
        f"  rate limits x{scale:g} (searchOrders {SEARCH_RATE * scale:g}/s per seller), "
        f"{args.workers} sync workers, simulator start-up {started:.0f} s (not timed)"
    )
    what = "orders + performance and feedback reports" if not args.no_reports else "orders only"
    print(
        f"  sync      {c['sync_s']:8.1f} s  {what}; {c['stored']:,} orders stored, "
        f"{c['report_rows']:,} report rows"
    )
    print(
        f"            {sum(http.values()):,} HTTP requests ({c['sp_api']:,} SP-API calls, "
        f"{http.get('auth', 0):,} LWA, {http.get('documents-download', 0):,} downloads), "
        f"{c['throttled']} throttled, {c['waited_s']:.1f} s waited on quotas"
    )
    print(
        f"            CPU: {c['sync_cpu_s']:.1f} s in the syncing process, "
        f"{c['simulator_cpu_s']:.1f} s in the simulator ({os.cpu_count()} cores here)"
    )
    if not args.no_reports:
        print(
            f"            per account: orders {c['orders_s'] / n * 1000:.0f} ms, "
            f"reports {c['reports_s'] / n * 1000:.0f} ms (poll waits / {scale:g})"
        )
    print(
        f"  check     {c['check_s']:8.1f} s  one evaluate of all packs over all accounts "
        f"({c['evaluate_s']:.1f} s) + save_run, {c['rule_results']:,} rule results"
    )
    print(f"            statuses {c['statuses']}")
    print(
        f"  alerts    {c['alerts_s']:8.1f} s  process_alerts, SMTP to a local sink: "
        f"{c['alerts']} ({alert_mails} mails received)"
    )
    e = c["emails"]
    sent = "sent to a local SMTP sink" if not args.no_send else "composed, not sent"
    print(
        f"  reports   {c['reports_phase_s']:8.1f} s  {e['composed']:,} report emails {sent} "
        f"(compose {c['compose_s']:.1f} s, send {c['send_s']:.1f} s, mean {e['mean_kb']:.0f} KB)"
    )
    print(f"  total     {total:8.1f} s  ({total / n * 1000:.0f} ms per account)")
    print(
        f"  peak memory {c['peak_mb']:6.0f} MB  the cycle's process (after sync "
        f"{c['sync_peak_mb']:.0f}, check {c['check_peak_mb']:.0f}, alerts "
        f"{c['alerts_peak_mb']:.0f}); the simulator's own {simulator_mb:.0f} MB not counted"
    )
    print("  baselines, measured in the same run:")
    print(
        f"    quota floor       {floor:7.1f} s  ({pages} searchOrders page(s) per seller, "
        f"burst {SEARCH_BURST}: no wait owed at any scale)"
    )
    print(
        f"    fetch only        {b['fetch_s']:7.1f} s  the same requests, same pool, nothing "
        f"stored ({b['fetched']:,} orders, {b['fetch_http']:,} HTTP requests)"
        f"  -> sync {c['sync_s'] / b['fetch_s']:.2f}x"
    )
    print(
        f"                               CPU: {b['fetch_cpu_s']:.1f} s fetching, "
        f"{b['simulator_cpu_s']:.1f} s in the simulator"
    )
    print(
        f"    read every row    {b['read_all_s']:7.1f} s  ({b['read_all_rows']:,} rows)"
        f"  -> check {c['check_s'] / b['read_all_s']:.1f}x"
    )
    print(
        f"    JSON contract     {b['json_s']:7.1f} s  (each account's check read back as JSON)"
        f"  -> reports {c['reports_phase_s'] / b['json_s']:.1f}x"
    )
    if c["report_notes"]:
        print(f"  reports not DONE: {c['report_notes']} (feedback: nothing to report)")
    if c["findings"]:
        print(f"  sync findings: {c['findings']}")
    print(f"  SMTP sink: {sink.messages:,} messages, {sink.bytes / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
