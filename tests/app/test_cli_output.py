"""What the commands print: rules in human units, a date as --as-of, the known accounts of an
unknown one, HTML kept out of a terminal, CSV safe for spreadsheets, one PDF install hint."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from seller_health.app.cli import PDF_INSTALL, main
from seller_health.store.db import open_store
from seller_health.timeutil import InstantError, parse_as_of, parse_instant
from tests.factory import Seller, ago

AS_OF = "2026-11-01T00:00:00Z"
HOSTILE = '=HYPERLINK("http://evil.example","click")'


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def db(tmp_path) -> str:
    path = tmp_path / "store.db"
    engine = open_store(str(path))
    bad = Seller(HOSTILE, "amazon", name="=cmd|' /C calc'!A0")
    for i in range(400):
        bad.order(f"114-{i:07}", ago(days=20, minutes=i))
    for i in range(5):
        bad.event(f"claim{i}", "a_to_z_claim", ago(days=2), order_id=f"114-{i:07}")
    bad.save(engine)
    Seller("acme-de", "amazon").order("o1", ago(days=5)).save(engine)
    engine.dispose()
    return str(path)


# --- rules in human units ----------------------------------------------------------------------


def test_rules_shows_thresholds_in_their_units(tmp_path):
    listing = run("rules")
    assert listing.exit_code == 0
    lines = {line.split()[0]: line for line in listing.output.splitlines() if line.strip()}
    assert lines["amazon.order_defect_rate"].endswith("breach ≥ 1.00%, warn ≥ 0.75%")
    assert lines["service.first_response_time"].endswith("warn > 4h 00m")
    assert lines["service.backlog"].endswith("warn > 20")
    assert lines["ebay.transaction_defect_rate"].endswith(
        "breach > 2.00% and > 4 items, warn > 0.50% and > 3 items"
    )
    assert ">= 0.01" not in listing.output and "14400" not in listing.output

    targets = tmp_path / "my-targets.yaml"
    targets.write_text(
        "pack: my-targets\noverrides:\n  amazon.order_defect_rate:\n    warn: '>= 0.005'\n"
        "  service.first_response_time:\n    warn: '> 3600'\n"
        "    business_hours: {timezone: America/New_York, holidays: US}\n    for: 6h\n"
    )
    listing = run("rules", str(targets))
    assert listing.exit_code == 0
    assert "  override amazon.order_defect_rate: warn ≥ 0.50%\n" in listing.output
    assert (
        "  override service.first_response_time: warn > 1h 00m, business hours mon, tue, wed, "
        "thu, fri 09:00-17:00 America/New_York, US holidays, alerts after 6h 00m\n"
    ) in listing.output
    assert "{" not in listing.output  # never a Python dict


# --- --as-of as a date -------------------------------------------------------------------------


def test_a_date_is_midnight_utc_and_a_time_still_needs_its_offset():
    assert parse_as_of("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_as_of(" 2026-11-01T01:00:00+01:00 ") == datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(InstantError, match="has no UTC offset"):
        parse_as_of("2026-11-01T00:00:00")
    with pytest.raises(InstantError, match="has no UTC offset"):
        parse_as_of("2026-11-01 00:00")
    with pytest.raises(InstantError, match="'2026-02-30' is not a date"):
        parse_as_of("2026-02-30")
    with pytest.raises(InstantError, match="expected e.g. 2026-11-01 or 2026-11-01T09:30:00Z"):
        parse_as_of("20261101")
    with pytest.raises(InstantError, match="not a date and time"):
        parse_instant("2026-11-01")  # the import format still wants instants


def test_check_and_audit_take_a_date(db, tmp_path):
    result = run("check", "--db", db, "--as-of", "2026-11-01", "--format", "json")
    assert json.loads(result.output)["as_of"] == AS_OF
    result = run("check", "--db", db, "--as-of", "2026-11-01T00:00:00", "--format", "json")
    assert result.exit_code == 2 and "no UTC offset" in result.output
    result = run(
        "audit", "acme-de", "--db", db, "--as-of", "2026-11-01", "--output", str(tmp_path / "a")
    )
    assert result.exit_code == 0, result.output
    assert "midnight UTC" in run("check", "--help").output


# --- history of an unknown account -------------------------------------------------------------


def test_history_of_an_unknown_account_lists_the_known_ones(db):
    run("check", "--db", db, "--as-of", AS_OF)
    result = run("history", "acme-us", "--db", db)
    assert result.exit_code == 2
    assert (
        f"no such account in the store: acme-us (did you mean acme-de? known: {HOSTILE}, "
        "acme-de)" in result.output
    )


def test_history_lists_a_long_store_cut_short(tmp_path):
    db = str(tmp_path / "many.db")
    engine = open_store(db)
    for i in range(25):
        Seller(f"shop-{i:02}", "etsy").save(engine)
    engine.dispose()
    result = run("history", "nobody", "--db", db)
    assert result.exit_code == 2
    assert "known: shop-00, shop-01," in result.output and "shop-20" not in result.output
    assert ", and 5 more)" in result.output


# --- HTML is not for a terminal ----------------------------------------------------------------


def test_report_refuses_html_on_a_terminal_and_pipes_it(db):
    run("check", "--db", db, "--as-of", AS_OF)
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "seller_health", "report", "--db", db],
            stdout=follower,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 2
    assert "use --output FILE (or --format text)" in done.stderr
    piped = run("report", "--db", db)  # not a terminal: the HTML goes through
    assert piped.exit_code == 0 and piped.output.lstrip().lower().startswith("<!doctype html")


# --- CSV ---------------------------------------------------------------------------------------


def test_check_as_csv_is_one_row_per_account_and_rule_and_safe_in_a_spreadsheet(db, tmp_path):
    rules = tmp_path / "mine.yaml"
    rules.write_text(
        "pack: mine\napplies_to: all\nrules:\n  - id: mine.cancelled\n    title: Cancelled\n"
        "    of: orders\n    metric: rate\n    window: {days: 60, by: purchased_at}\n"
        "    bad: {status: cancelled}\n    breach: '> 0.5'\n"
        "    message: '-{numerator} of {denominator} (=1+1)'\n"
    )
    out = tmp_path / "today.csv"
    result = run(
        "check", "--db", db, "--as-of", AS_OF, "--format", "csv", "--output", str(out),
        "--rules", "amazon", "--rules", str(rules),
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # the hostile shop is in breach
    text = out.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "account_id", "marketplace", "account_status", "rule", "status", "value",
        "numerator", "denominator", "threshold", "headroom", "message",
    ]  # fmt: skip
    checked = run("check", "--db", db, "--as-of", AS_OF, "--format", "json", "--no-save",
                  "--rules", "amazon", "--rules", str(rules))  # fmt: skip
    expected = [
        (a["account_id"], r["rule"]) for a in json.loads(checked.output)["accounts"]
        for r in a["results"]
    ]  # fmt: skip
    assert [(row["account_id"].removeprefix("'"), row["rule"]) for row in rows] == expected
    hostile = {row["rule"]: row for row in rows if row["account_id"] != "acme-de"}
    odr = hostile["amazon.order_defect_rate"]
    assert odr["account_id"] == f"'{HOSTILE}"  # shown as text, never run
    assert (odr["status"], odr["account_status"]) == ("breach", "breach")
    assert (odr["value"], odr["numerator"], odr["denominator"]) == ("0.0125", "5", "400")
    assert odr["threshold"] == "breach >= 0.01; warn >= 0.0075"
    assert odr["headroom"] == "-2"  # a negative number stays a number
    assert odr["message"] == "5 of 400 orders had a defect in the last 60 days (1.25%)"
    assert hostile["mine.cancelled"]["message"] == "'-0 of 400 (=1+1)"
    assert "cmd|" not in text  # the shop's name is no column
    for row in rows:
        for column in ("account_id", "rule", "message", "threshold"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r"))
    idle = next(r for r in rows if r["account_id"] == "acme-de" and r["value"] == "")
    assert idle["status"] == "insufficient_data" and idle["headroom"] == ""


# --- one PDF install hint ----------------------------------------------------------------------


def test_audit_without_weasyprint_gives_the_readmes_install_command(db, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # importing it fails
    result = run(
        "audit", "acme-de", "--db", db, "--as-of", AS_OF,
        "--output", str(tmp_path / "a.html"), "--pdf", str(tmp_path / "a.pdf"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert f"--pdf needs WeasyPrint: {PDF_INSTALL}" in result.output
    assert PDF_INSTALL == 'pip install -e ".[pdf]"'
