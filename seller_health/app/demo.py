"""``seller-health demo``: the whole job on the bundled simulator, in a few seconds.

Starts the marketplace simulator on loopback, syncs a few demo Amazon accounts through the real
connector (rate limits scaled up so it is quick), reads their buyer messages the way a seller's
would be read — Amazon's relay emails in a mailbox, here a Maildir per account that the simulator
fills — checks them against the Amazon rule pack and writes the reports. Two accounts are
healthy and come out clean; one is in trouble on shipping, tracking, defects and its 24-hour
replies, so the output shows what a failing account looks like next to passing ones.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from seller_health.app import service
from seller_health.connectors.amazon import AmazonCredentials, connect_amazon
from seller_health.ingest.sync import SyncSummary, sync_mailbox, sync_reports, sync_stream
from seller_health.model.results import CheckResult, RuleResult, worst
from seller_health.settings import MailboxSettings
from seller_health.simulator.config import SellerAccount, SimulatorConfig, utc_now
from seller_health.simulator.server import run_in_thread
from seller_health.store.db import open_store

RATE_SCALE = 200.0
#: The Amazon account-health pack: every demo account is an Amazon seller. The service pack is
#: left out because a relay mailbox cannot say when a conversation was resolved (Amazon emails
#: no such thing), so its resolution rules would read 0% resolved for every mailbox account.
DEMO_RULES = ("amazon",)
REPLY_RULE = "amazon.response_within_24h"
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
    story: list[str]


def run_demo(out_dir: Path, *, seed: int = 7, start: datetime | None = None) -> DemoRun:
    """Sync, check and report; ``start`` moves the simulator's clock (default: now), so a test
    can replay the demo on other days and see that its verdicts do not depend on the date."""
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "demo.db"
    for stale in out_dir.glob("demo.db*"):
        stale.unlink()
    mail_dir = out_dir / "mail"
    if mail_dir.exists():
        shutil.rmtree(mail_dir)
    config = SimulatorConfig(
        seed=seed, accounts=[a for _, a in DEMO_ACCOUNTS], rate_scale=RATE_SCALE
    )
    if start is not None:
        offset = start - utc_now()
        config.now = lambda: utc_now() + offset  # time still passes: quotas refill
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
            summaries.append(sync_stream(engine, amazon, "orders", now=now))
            summaries += sync_reports(engine, amazon, now=now, sleep=lambda s: None, polls=10)
            # The simulator delivers the relay emails; the real mailbox path reads them.
            maildir = mail_dir / account_id
            stop.simulator.write_mailbox(account.refresh_token, maildir)
            mailbox = MailboxSettings(kind="maildir", path=str(maildir))
            summaries.append(sync_mailbox(engine, account_id, mailbox, None))
        result = service.check(engine, DEMO_RULES, as_of=now.replace(microsecond=0))
    finally:
        stop()
    files = {
        "text": out_dir / "report.txt",
        "json": out_dir / "report.json",
        "html": out_dir / "report.html",
    }
    for fmt, path in files.items():
        path.write_text(service.render(result, fmt, store=engine), encoding="utf-8")
    files |= {"database": db, "mailboxes": mail_dir}
    return DemoRun(result, summaries, files, story(result, mail_dir))


def _figure(rule: RuleResult) -> str:
    if rule.value is None:
        return rule.title
    value = f"{float(rule.value):.2%}" if rule.unit == "ratio" else str(rule.value)
    return f"{rule.title} {value}"


def story(result: CheckResult, mail_dir: Path) -> list[str]:
    """What the demo shows, in a few lines under the table: a first-time user should not have
    to read every row to see that two accounts pass, one fails, and why."""
    lines = ["What the demo shows:"]
    for account in sorted(result.accounts, key=lambda a: a.account_id):
        judged = [r for r in account.results if r.status != "insufficient_data"]
        failing = [r for r in judged if r.status in ("warn", "breach")]
        verdict = worst([r.status for r in judged]).upper()
        unjudged = len(account.results) - len(judged)
        aside = f" ({unjudged} without data to judge)" if unjudged else ""
        if failing:
            lines.append(f"  {account.account_id}: {verdict} on {len(failing)} rules{aside}:")
            lines += [f"    {_figure(r)} ({r.status})" for r in failing]
        else:
            lines.append(
                f"  {account.account_id}: OK, all {len(judged)} rules judged within target{aside}."
            )
        reply = next((r for r in account.results if r.rule == REPLY_RULE), None)
        if reply is not None:
            lines.append(f"    24-hour replies: {reply.message}.")
    lines += [
        "Buyer messages arrived as Amazon relay emails, delivered by the simulator to one Maildir",
        f"per account under {mail_dir}, and read by the mailbox reader that `sync` uses.",
    ]
    return lines
