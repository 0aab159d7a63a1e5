"""``seller-health demo`` runs the whole job on the simulator and finds the troubled account."""

import json

from click.testing import CliRunner

from seller_health.app.cli import main


def test_demo_syncs_checks_and_writes_reports(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--output-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "demo-trouble-us orders: fetched 500, stored 500" in result.output
    doc = json.loads((tmp_path / "report.json").read_text())
    statuses = {a["account_id"]: a["status"] for a in doc["accounts"]}
    assert statuses["demo-trouble-us"] == "breach"
    trouble = next(a for a in doc["accounts"] if a["account_id"] == "demo-trouble-us")
    lsr = next(r for r in trouble["results"] if r["rule"] == "amazon.late_shipment_rate")
    assert (
        lsr["status"] == "breach"
        and lsr["official"]["source"] == "GET_V2_SELLER_PERFORMANCE_REPORT"
    )
    assert (tmp_path / "report.html").read_text().startswith("<!doctype html>")
