"""The command line: the check contract of report-contract.md, exit codes, rule selection."""

import json

import pytest
from click.testing import CliRunner

from seller_health.app.cli import main
from seller_health.store.db import open_store
from tests.factory import Seller, ago

AS_OF = "2026-11-01T00:00:00Z"


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "store.db"
    engine = open_store(str(path))
    bad = Seller("acme-us", "amazon", name="Acme <b>US</b>")
    for i in range(400):
        bad.order(f"114-{i:07}", ago(days=20, minutes=i))
    for i in range(5):
        bad.event(f"claim{i}", "a_to_z_claim", ago(days=2), order_id=f"114-{i:07}")
    bad.save(engine)
    good = Seller("shop-eu", "etsy")
    good.order("o1", ago(days=5))
    good.save(engine)
    engine.dispose()
    return str(path)


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_json_follows_the_contract(db):
    result = run("check", "--db", db, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 1  # a breach, and --fail-on defaults to breach
    doc = json.loads(result.output)
    assert doc["schema"] == 1 and doc["as_of"] == AS_OF
    acme = next(a for a in doc["accounts"] if a["account_id"] == "acme-us")
    assert (acme["marketplace"], acme["status"]) == ("amazon", "breach")
    odr = next(r for r in acme["results"] if r["rule"] == "amazon.order_defect_rate")
    assert odr["title"] == "Order Defect Rate"
    assert (odr["status"], odr["value"], odr["numerator"], odr["denominator"]) == (
        "breach",
        0.0125,
        5,
        400,
    )
    assert odr["window"] == {"start": "2026-09-02T00:00:00Z", "end": AS_OF}
    assert odr["threshold"] == {"breach": ">= 0.01", "warn": ">= 0.0075"}
    assert odr["headroom"] == -2
    assert odr["evidence"] == [f"114-{i:07}" for i in (4, 3, 2, 1, 0)]
    assert odr["message"] == "5 of 400 orders had a defect in the last 60 days (1.25%)"
    rule_ids = {r["rule"] for r in acme["results"]}
    assert any(r.startswith("service.") for r in rule_ids) and not any(
        r.startswith("ebay.") for r in rule_ids
    )


def test_fail_on_levels(db):
    assert run("check", "--db", db, "--as-of", AS_OF, "--fail-on", "never").exit_code == 0
    assert run("check", "--db", db, "--as-of", AS_OF, "--account", "shop-eu").exit_code == 0
    # shop-eu has a lone order: rules without data are insufficient_data, which never fails
    assert (
        run(
            "check", "--db", db, "--as-of", AS_OF, "--account", "shop-eu", "--fail-on", "warn"
        ).exit_code
        == 0
    )


def test_rules_pack_applies_to_every_account(db):
    result = run("check", "--db", db, "--as-of", AS_OF, "--format", "json", "--rules", "amazon")
    doc = json.loads(result.output)
    shop = next(a for a in doc["accounts"] if a["account_id"] == "shop-eu")
    assert {r["rule"].split(".")[0] for r in shop["results"]} == {"amazon"}


def test_an_override_file_changes_the_default_packs(db, tmp_path):
    stricter = tmp_path / "stricter.yaml"
    stricter.write_text(
        'pack: stricter\noverrides:\n  amazon.order_defect_rate:\n    breach: ">= 0.02"\n'
    )
    doc = json.loads(
        run(
            "check", "--db", db, "--as-of", AS_OF, "--format", "json", "--rules", str(stricter)
        ).output
    )
    acme = next(a for a in doc["accounts"] if a["account_id"] == "acme-us")
    odr = next(r for r in acme["results"] if r["rule"] == "amazon.order_defect_rate")
    assert (odr["status"], odr["threshold"]["breach"]) == ("warn", ">= 0.02")


def test_text_output_is_a_table_and_writes_to_a_file(db, tmp_path):
    out = tmp_path / "report.txt"
    result = run("check", "--db", db, "--as-of", AS_OF, "--output", str(out))
    text = out.read_text()
    assert result.exit_code == 1 and "acme-us" in text and "BREACH" in text
    assert "amazon.order_defect_rate" in text and "1.25%" in text
    assert "\x1b[" not in text  # no colour codes in files


def test_text_and_html_in_the_readers_language_and_zone(db):
    text = run("check", "--db", db, "--as-of", AS_OF, "--language", "es").output
    spaced = text.replace("\u00a0", " ").replace("\u202f", " ")  # Babel's no-break spaces
    assert "INCUMPLIMIENTO" in text and "5 de 400 pedidos" in text
    assert "1,25 %" in spaced and "1.25%" not in text  # Spanish figures: one formatting stack
    english = run("check", "--db", db, "--as-of", AS_OF).output
    assert "1.25%" in english
    html = run(
        "check",
        "--db",
        db,
        "--as-of",
        AS_OF,
        "--format",
        "html",
        "--language",
        "es",
        "--timezone",
        "Europe/Madrid",
    ).output
    assert 'lang="es"' in html
    as_json = run("check", "--db", db, "--as-of", AS_OF, "--format", "json", "--language", "es")
    assert json.loads(as_json.output)["accounts"]  # JSON stays the English contract


def test_html_escapes_untrusted_names(db):
    html = run("check", "--db", db, "--as-of", AS_OF, "--format", "html").output
    assert "Acme &lt;b&gt;US&lt;/b&gt;" in html and "<b>US</b>" not in html


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--as-of", "2026-11-01T00:00:00"], "no UTC offset"),
        (["--rules", "amazn"], "no such pack"),
        (["--account", "nobody"], "no such account: nobody"),
        (["--format", "pdf"], "Invalid value"),
        (["--language", "xx"], "--language xx: no catalog"),
        (["--timezone", "Mars/Base"], "--timezone Mars/Base: unknown time zone"),
    ],
)
def test_bad_usage_exits_2_with_a_message(db, args, words):
    result = CliRunner().invoke(main, ["check", "--db", db, *args])
    assert result.exit_code == 2 and words in result.output


def test_broken_rule_file_exits_2_naming_the_rule(db, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "pack: mine\nrules:\n  - id: mine.x\n    title: X\n    of: orders\n    metric: rate\n"
        "    window: {days: 7, by: purchased_at}\n    bad: {fulfilment: merchant}\n"
    )
    result = CliRunner().invoke(main, ["check", "--db", db, "--rules", str(broken)])
    assert result.exit_code == 2
    assert (
        "broken.yaml: rule mine.x, field bad.fulfilment: unknown field 'fulfilment'"
        in result.output
    )


def test_rules_lists_packs_and_validates_files(tmp_path):
    listing = run("rules")
    assert (
        listing.exit_code == 0
        and "amazon.order_defect_rate" in listing.output
        and "service.nps" in listing.output
    )
    broken = tmp_path / "b.yaml"
    broken.write_text("pack: b\nrules: [{id: b.x}]\n")
    result = CliRunner().invoke(main, ["rules", str(broken)])
    assert result.exit_code == 2 and "rule b.x" in result.output


def test_each_check_is_kept_as_a_run(db):
    from seller_health.store.history import load_run

    run("check", "--db", db, "--as-of", AS_OF)
    run("check", "--db", db, "--as-of", AS_OF)
    engine = open_store(db)
    second = load_run(engine, 2)
    acme = next(a for a in second.accounts if a.account_id == "acme-us")
    odr = next(r for r in acme.results if r.rule == "amazon.order_defect_rate")
    assert (odr.numerator, odr.denominator, str(odr.value)) == (5, 400, "1/80")


def test_an_empty_store_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["check", "--db", str(tmp_path / "empty.db")])
    assert result.exit_code == 2 and "no accounts in" in result.output and "import" in result.output


def test_default_plus_a_rule_file_of_ones_own(db, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "pack: mine\napplies_to: amazon\nrules:\n  - id: mine.fba_share\n    title: FBA share\n"
        "    of: orders\n    metric: rate\n    window: {days: 30, by: purchased_at}\n"
        "    good: {fulfillment: marketplace}\n"
    )
    args = ["check", "--db", db, "--as-of", AS_OF, "--format", "json", "--fail-on", "never"]
    doc = json.loads(run(*args, "--rules", "default", "--rules", str(mine)).output)
    acme = next(a for a in doc["accounts"] if a["account_id"] == "acme-us")
    shop = next(a for a in doc["accounts"] if a["account_id"] == "shop-eu")
    rules = {r["rule"] for r in acme["results"]}
    assert {"mine.fba_share", "amazon.order_defect_rate", "service.nps"} <= rules
    assert "mine.fba_share" not in {r["rule"] for r in shop["results"]}


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--as-of", AS_OF, "--output", "{tmp}/nodir/report.txt"],
        ["audit", "acme-us", "--as-of", AS_OF, "--output", "{tmp}/nodir/audit.html"],
        ["report", "--output", "{tmp}/nodir/report.html"],
    ],
)
def test_an_output_that_cannot_be_written_is_bad_input(db, tmp_path, args):
    run("check", "--db", db, "--as-of", AS_OF)  # a stored run for report
    result = CliRunner().invoke(main, [a.format(tmp=tmp_path) for a in args] + ["--db", db])
    assert result.exit_code == 2, result.output  # not 1: that is a breach
    assert f"--output {tmp_path}/nodir/" in result.output and "cannot write" in result.output


@pytest.mark.parametrize("command", [["report"], ["audit", "acme-us"], ["history", "acme-us"]])
def test_read_only_commands_refuse_a_store_that_is_not_there(tmp_path, command):
    missing = tmp_path / "stroe.db"
    result = CliRunner().invoke(main, [*command, "--db", str(missing)])
    assert result.exit_code == 2 and f"--db: no store at {missing}" in result.output
    assert not missing.exists()


def _email_config(tmp_path, db: str) -> str:
    path = tmp_path / "seller-health.toml"
    path.write_text(
        f'database = "{db}"\n[smtp]\nhost = "127.0.0.1"\nport = 9\nsecurity = "none"\n'
        'sender = "r@example.com"\n[recipients.owner]\nemail = "o@example.com"\n'
        'accounts = ["acme-us"]\n'
    )
    return str(path)


def test_email_with_nothing_to_send_fails(db, tmp_path):
    config = _email_config(tmp_path, db)
    result = CliRunner().invoke(main, ["email", "--config", config])
    assert result.exit_code == 1
    assert "skipped owner: no stored check of acme-us" in result.output
    assert "nothing sent: no recipient's accounts have a stored check" in result.output
    result = CliRunner().invoke(main, ["email", "--config", config, "--save", str(tmp_path / "o")])
    assert result.exit_code == 1 and "nothing sent" in result.output

    run("check", "--db", db, "--as-of", AS_OF)
    result = CliRunner().invoke(main, ["email", "--config", config, "--save", str(tmp_path / "o")])
    assert result.exit_code == 0 and "wrote" in result.output


def test_email_refuses_a_store_that_is_not_there(tmp_path):
    missing = tmp_path / "nothere.db"
    config = _email_config(tmp_path, str(missing))
    result = CliRunner().invoke(main, ["email", "--config", config])
    assert result.exit_code == 2
    assert f"{config}: database: no store at {missing}" in result.output
    assert not missing.exists()
