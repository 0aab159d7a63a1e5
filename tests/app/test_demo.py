"""``seller-health demo`` tells the truth: healthy accounts pass, the troubled one fails for
visible reasons, and buyer messages arrive through the real mailbox path."""

import json
from datetime import UTC, datetime

from click.testing import CliRunner

from seller_health.app.cli import main
from seller_health.app.demo import REPLY_RULE, run_demo

HEALTHY = ("demo-healthy-us", "demo-healthy-de")
TROUBLED = "demo-trouble-us"
#: What the troubled account is built to fail: shipping, tracking, defects, 24-hour replies.
TROUBLE_RULES = {
    "amazon.order_defect_rate",
    "amazon.late_shipment_rate",
    "amazon.valid_tracking_rate",
    REPLY_RULE,
}


def test_demo_syncs_checks_and_writes_reports(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--output-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "demo-trouble-us orders: fetched 500, stored 500" in result.output
    for account in (*HEALTHY, TROUBLED):  # buyer messages came through the mailbox
        line = next(x for x in result.output.splitlines() if f"{account} messages:" in x)
        assert "stored 0," not in line and "quarantined 0" in line
    assert "What the demo shows:" in result.output
    for account in HEALTHY:
        assert f"{account}: OK, all" in result.output
    assert f"{TROUBLED}: BREACH on" in result.output

    doc = json.loads((tmp_path / "report.json").read_text())
    rules = {a["account_id"]: {r["rule"]: r for r in a["results"]} for a in doc["accounts"]}
    for account in HEALTHY:
        failing = [k for k, r in rules[account].items() if r["status"] in {"warn", "breach"}]
        assert failing == [], account
        assert rules[account][REPLY_RULE]["status"] == "ok"
    trouble = rules[TROUBLED]
    assert {r for r in TROUBLE_RULES if trouble[r]["status"] == "breach"} == TROUBLE_RULES
    assert trouble["amazon.late_shipment_rate"]["official"]["source"] == (
        "GET_V2_SELLER_PERFORMANCE_REPORT"
    )
    assert (tmp_path / "report.html").read_text().startswith("<!doctype html>")
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == sorted((*HEALTHY, TROUBLED))


def test_the_reply_rule_is_judged_for_every_account_on_any_day(tmp_path):
    """The simulator's data moves with the clock: the verdicts must not depend on the date."""
    run = run_demo(tmp_path, start=datetime(2027, 3, 14, 6, 30, tzinfo=UTC))
    messages = [s for s in run.summaries if s.stream == "messages"]
    assert len(messages) == 3 and all(s.stored > 0 and not s.quarantined for s in messages)
    replies = {
        a.account_id: next(r for r in a.results if r.rule == REPLY_RULE)
        for a in run.result.accounts
    }
    assert all(r.status != "insufficient_data" and r.denominator for r in replies.values())
    assert [a for a, r in replies.items() if r.status == "breach"] == [TROUBLED]
    for account in run.result.accounts:
        failing = [r.rule for r in account.results if r.status in ("warn", "breach")]
        if account.account_id == TROUBLED:
            assert set(failing) >= TROUBLE_RULES
        else:
            assert failing == [], account.account_id
