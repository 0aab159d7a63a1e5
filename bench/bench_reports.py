"""Report benchmark: every account's emailed report, and the agency digest, at agency scale.

    python bench/bench_reports.py [--accounts 1000 --orders 200000 --messages 200000 --events 40000]

Set-up (not timed): synthetic data, imported, checked weekly four times so trends have points.
Timed in a child process (its own peak memory), the path ``seller-health email`` takes:
- reports: for each account, its latest check read back from the store, the records behind the
  evidence, the history, the page in the account's language, HTML and text, CSS inlined into a
  multipart email (nothing sent);
- digest: one page of all accounts, HTML and text;
- baseline: the same stored results read back and written as the JSON contract, per account.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
AS_OFS = ("2026-10-11", "2026-10-18", "2026-10-25", "2026-11-01")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(db: Path, args: argparse.Namespace) -> None:
    from seller_health.app import service
    from seller_health.timeutil import parse_instant

    with tempfile.TemporaryDirectory() as data:
        subprocess.run(
            [
                sys.executable,
                str(HERE / "datagen.py"),
                data,
                "--accounts",
                str(args.accounts),
                "--orders",
                str(args.orders),
                "--messages",
                str(args.messages),
                "--events",
                str(args.events),
                "--seed",
                "3",
            ],
            check=True,
            capture_output=True,
        )
        engine = service.open_store(str(db))
        service.import_files(engine, Path(data))
    for day in AS_OFS:
        service.check(engine, as_of=parse_instant(f"{day}T00:00:00Z"))


def phase_render(db: str) -> None:

    from seller_health.config import Config
    from seller_health.notify.delivery import compose_all, plan
    from seller_health.reports.html import render_page, report_page, rules_by_id
    from seller_health.reports.json import render_json
    from seller_health.store.accounts import account_ids
    from seller_health.store.db import open_store
    from seller_health.store.history import load_latest

    engine = open_store(db)
    with engine.connect() as conn:
        accounts = account_ids(conn)
    # One seller per account, as ``seller-health email`` would mail them.
    config = Config.model_validate(
        {
            "smtp": {"host": "localhost", "sender": "reports@agency.example"},
            "recipients": {
                f"r{i}": {"email": f"owner{i}@shop.example", "accounts": [account]}
                for i, account in enumerate(accounts)
            },
        }
    )

    start = time.perf_counter()
    for account_id in accounts:
        render_json(load_latest(engine, [account_id]))
    baseline = time.perf_counter() - start

    start = time.perf_counter()
    mailings = plan(engine, config)
    size = sum(len(bytes(message)) for _, message in compose_all(engine, config, mailings))
    reports = time.perf_counter() - start

    start = time.perf_counter()
    everything = load_latest(engine, accounts)
    page = report_page(engine, everything, kind="digest", rules=rules_by_id())
    digest_html = render_page(page, "html")
    render_page(page, "text")
    digest = time.perf_counter() - start
    print(
        json.dumps(
            {
                "accounts": len(accounts),
                "languages": sorted({m.language for m in mailings}),
                "reports_s": reports,
                "baseline_s": baseline,
                "digest_s": digest,
                "mean_email_kb": size / len(accounts) / 1024,
                "digest_kb": len(digest_html) / 1024,
                "peak_mb": peak_mb(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "render":
        phase_render(args.db)
        return
    OUT.mkdir(exist_ok=True)
    db = OUT / f"reports-{args.accounts}-{args.orders}-{args.messages}-{args.events}.db"
    if not db.exists():
        print(f"setting up {db.name} (import and four weekly checks)...", flush=True)
        start = time.perf_counter()
        setup(db, args)
        print(f"  set-up took {time.perf_counter() - start:.1f} s", flush=True)
    done = subprocess.run(
        [sys.executable, __file__, "--phase", "render", "--db", str(db)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    n = figures["accounts"]
    print(f"accounts:            {n} (languages {', '.join(figures['languages'])})")
    print(
        f"account reports:     {figures['reports_s']:.2f} s "
        f"({figures['reports_s'] / n * 1000:.1f} ms each; HTML + text + inlined email, "
        f"mean {figures['mean_email_kb']:.0f} KB)"
    )
    print(
        f"baseline (JSON):     {figures['baseline_s']:.2f} s "
        f"-> reports are {figures['reports_s'] / figures['baseline_s']:.1f}x the JSON contract"
    )
    print(f"digest of all:       {figures['digest_s']:.2f} s ({figures['digest_kb']:.0f} KB)")
    print(f"peak memory:         {figures['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
