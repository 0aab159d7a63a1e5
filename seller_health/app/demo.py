"""``seller-health demo``: the whole job on the bundled simulator, in a few seconds.

Starts the marketplace simulator on loopback, syncs a few demo Amazon accounts through the real
connector (rate limits scaled up so it is quick), runs every check and writes the reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seller_health.app import service
from seller_health.connectors.amazon import AmazonCredentials, connect_amazon
from seller_health.ingest.sync import SyncSummary, sync_orders, sync_reports
from seller_health.model.results import CheckResult
from seller_health.simulator.config import SellerAccount, SimulatorConfig
from seller_health.simulator.server import run_in_thread
from seller_health.store.db import open_store

RATE_SCALE = 200.0
DEMO_ACCOUNTS = (
    ("demo-healthy-us", SellerAccount("Atzr|demo-healthy-us", "ATVPDKIKX0DER", order_count=600)),
    (
        "demo-trouble-us",
        SellerAccount("Atzr|demo-trouble-us", order_count=500, in_trouble=True),
    ),
    ("demo-healthy-de", SellerAccount("Atzr|demo-healthy-de", "A1PA6795UKMFR9", order_count=400)),
)


@dataclass
class DemoRun:
    result: CheckResult
    summaries: list[SyncSummary]
    files: dict[str, Path]


def run_demo(out_dir: Path, *, seed: int = 7) -> DemoRun:
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "demo.db"
    for stale in out_dir.glob("demo.db*"):
        stale.unlink()
    config = SimulatorConfig(
        seed=seed, accounts=[a for _, a in DEMO_ACCOUNTS], rate_scale=RATE_SCALE
    )
    base_url, stop = run_in_thread(config)
    summaries: list[SyncSummary] = []
    try:
        engine = open_store(str(db))
        now = config.now()
        for account_id, account in DEMO_ACCOUNTS:
            credentials = AmazonCredentials(
                config.client_id, config.client_secret, account.refresh_token
            )
            amazon = connect_amazon(
                account_id,
                credentials,
                [account.marketplace_id],
                api_url=base_url,
                lwa_url=f"{base_url}/auth/o2/token",
                rate_scale=RATE_SCALE,
            )
            summaries.append(sync_orders(engine, amazon, marketplace="amazon", now=now))
            summaries += sync_reports(engine, amazon, now=now, sleep=lambda s: None, polls=10)
        result = service.check(engine, as_of=now.replace(microsecond=0))
    finally:
        stop()
    files = {
        "text": out_dir / "report.txt",
        "json": out_dir / "report.json",
        "html": out_dir / "report.html",
    }
    for fmt, path in files.items():
        path.write_text(service.render(result, fmt, store=engine), encoding="utf-8")
    return DemoRun(result, summaries, files | {"database": db})
