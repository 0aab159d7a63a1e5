"""Core benchmark: import and check at agency scale, against baselines measured in the same run.

    python bench/bench_core.py [--accounts 1000 --orders 1000000 --messages 1000000 --events 200000]

Phases run in child processes so that each one's peak memory (max RSS) is its own:
- import: ``seller-health``'s importer into a fresh SQLite store, vs the sqlite3 command-line
  ``.import`` of the same CSV files into a fresh database (its own untyped, unindexed tables);
- check: every pack for every account at one ``as_of``, vs the floor, the time to read every
  row of the three tables once from Python.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
AS_OF = "2026-11-01T00:00:00Z"
TABLES = ("accounts", "orders", "messages", "events")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(*args: str) -> dict:
    """Run a phase of this script in a fresh interpreter and return what it reports."""
    done = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- phases (run in children) -------------------------------------------------------------


def phase_import(db: str, data: str) -> None:
    from seller_health.app import service

    engine = service.open_store(db)
    start = time.perf_counter()
    service.import_files(engine, Path(data))
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb()}))


def phase_floor(db: str) -> None:
    start = time.perf_counter()
    rows = 0
    for table in ("orders", "messages", "events"):
        if db.startswith("postgresql"):
            import psycopg

            with psycopg.connect(db) as conn, conn.cursor(name=f"floor_{table}") as cursor:
                cursor.itersize = 10_000
                cursor.execute(f"SELECT * FROM {table}")
                rows += sum(1 for _ in cursor)
        else:
            import sqlite3

            rows += sum(1 for _ in sqlite3.connect(db).execute(f"SELECT * FROM {table}"))
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "rows": rows, "peak_mb": peak_mb()}))


def phase_check(db: str) -> None:
    from seller_health.app import service
    from seller_health.timeutil import parse_instant

    engine = service.open_store(db)
    packs = service.packs_for()
    start = time.perf_counter()
    result = service.check(engine, packs, as_of=parse_instant(AS_OF), keep=False)
    evaluated = time.perf_counter() - start
    service.keep_run(engine, result)
    elapsed = time.perf_counter() - start
    statuses: dict[str, int] = {}
    for account in result.accounts:
        statuses[account.status] = statuses.get(account.status, 0) + 1
    rules = sum(len(a.results) for a in result.accounts)
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "evaluate_seconds": evaluated,
                "rule_results": rules,
                "statuses": statuses,
                "peak_mb": peak_mb(),
            }
        )
    )


# --- driver -------------------------------------------------------------------------------


def sqlite_cli_import(data: Path, db: Path) -> float:
    script = ".mode csv\n" + "".join(f".import '{data / f'{t}.csv'}' {t}\n" for t in TABLES)
    start = time.perf_counter()
    subprocess.run(["sqlite3", str(db)], input=script, text=True, check=True)
    return time.perf_counter() - start


def count_rows(data: Path) -> int:
    total = 0
    for table in TABLES:
        with open(data / f"{table}.csv", "rb") as f:
            total += sum(1 for _ in f) - 1
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also run import and check on PostgreSQL, in a scratch database made on this server",
    )
    args = parser.parse_args()

    name = f"a{args.accounts}-o{args.orders}-m{args.messages}-e{args.events}-s{args.seed}"
    data = OUT / f"data-{name}"
    if not (data / "events.csv").exists():
        print(f"generating {name} ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                str(HERE / "datagen.py"),
                str(data),
                "--accounts",
                str(args.accounts),
                "--orders",
                str(args.orders),
                "--messages",
                str(args.messages),
                "--events",
                str(args.events),
                "--as-of",
                AS_OF,
                "--seed",
                str(args.seed),
            ],
            check=True,
        )
    rows = count_rows(data)
    work = OUT / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    baseline = sqlite_cli_import(data, work / "baseline.db")
    imported = child("import", str(work / "store.db"), str(data))
    floor = child("floor", str(work / "store.db"))
    checked = child("check", str(work / "store.db"))

    figures = {
        "rows": rows,
        "import": {**imported, "rows_per_second": rows / imported["seconds"]},
        "sqlite3_import": {"seconds": baseline, "rows_per_second": rows / baseline},
        "import_vs_sqlite3": imported["seconds"] / baseline,
        "floor": floor,
        "check": checked,
        "check_vs_floor": checked["seconds"] / floor["seconds"],
    }
    if args.postgres:
        figures["postgresql"] = postgres_figures(args.postgres, data, rows)
    (OUT / f"core-{name}.json").write_text(json.dumps(figures, indent=2))
    imp, chk = imported, checked
    print(f"\nseller-health core benchmark ({name}, {rows:,} rows)")
    print(f"  import          {imp['seconds']:8.1f} s  {rows / imp['seconds']:>10,.0f} rows/s")
    print(f"                  peak {imp['peak_mb']:.0f} MB")
    print(f"  sqlite3 .import {baseline:8.1f} s  {rows / baseline:>10,.0f} rows/s")
    print(f"                  ratio {figures['import_vs_sqlite3']:.2f}x (target <= 5x)")
    print(
        f"  check           {chk['seconds']:8.1f} s  ({chk['evaluate_seconds']:.1f} s evaluating)"
    )
    print(f"                  {chk['rule_results']:,} rule results, peak {chk['peak_mb']:.0f} MB")
    print(f"  read-all floor  {floor['seconds']:8.1f} s  ({floor['rows']:,} rows)")
    print(
        f"                  ratio {figures['check_vs_floor']:.2f}x (target <= 10x, check <= 15 s)"
    )
    print(f"  statuses        {checked['statuses']}")
    if args.postgres:
        pg = figures["postgresql"]
        imp, chk, flo = pg["import"], pg["check"], pg["floor"]
        print("  PostgreSQL:")
        print(f"  import          {imp['seconds']:8.1f} s  {imp['rows_per_second']:>10,.0f} rows/s")
        print(f"  check           {chk['seconds']:8.1f} s  peak {chk['peak_mb']:.0f} MB")
        print(f"  read-all floor  {flo['seconds']:8.1f} s  ratio {pg['check_vs_floor']:.2f}x")


def postgres_figures(admin_url: str, data: Path, rows: int) -> dict:
    """Import and check on a scratch PostgreSQL database, dropped afterwards."""
    import uuid

    import psycopg

    name = f"seller_health_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
    try:
        imported = child("import", url, str(data))
        floor = child("floor", url)
        checked = child("check", url)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "import": {**imported, "rows_per_second": rows / imported["seconds"]},
        "floor": floor,
        "check": checked,
        "check_vs_floor": checked["seconds"] / floor["seconds"],
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("import", "floor", "check"):
        {"import": phase_import, "floor": phase_floor, "check": phase_check}[sys.argv[1]](
            *sys.argv[2:]
        )
    else:
        main()
