"""``seller-health history``: a rule's runs as a table and a sparkline, or every rule's trend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from seller_health.app.cli import main
from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_pack
from seller_health.reports.sparkline import BARS, sparkline
from seller_health.store.db import open_store
from seller_health.store.history import save_run
from tests.factory import Seller, T, ago

ODR = "amazon.order_defect_rate"


def _runs(engine, days=(4, 3, 2, 1, 0)) -> None:
    """100 orders and a new A-to-z claim each day: the defect rate climbs run after run."""
    seller = Seller("acme")
    for i in range(100):
        seller.order(f"o{i}", ago(days=10 + i % 20))
    for i in range(4):
        seller.event(f"e{i}", "a_to_z_claim", ago(days=3 - i, hours=12), order_id=f"o{i}")
    seller.save(engine)
    pack = builtin_pack("amazon")
    for d in days:
        save_run(engine, evaluate(engine, [pack], as_of=T - timedelta(days=d)))


def history(*args: str):
    return CliRunner().invoke(main, ["history", *args])


def test_one_rule_is_a_table_of_runs_under_its_sparkline(store):
    engine, url = store
    _runs(engine)
    result = history("acme", ODR, "--db", url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"acme {ODR}: 5 run(s)"
    assert lines[1] == "trend  ▁▃▅▆█"
    assert lines[3].split() == ["as", "of", "status", "value", "of"]
    rows = [line.split() for line in lines[4:]]
    assert rows == [
        ["2026-10-28T00:00:00Z", "ok", "0.00%", "0/100"],
        ["2026-10-29T00:00:00Z", "BREACH", "1.00%", "1/100"],
        ["2026-10-30T00:00:00Z", "BREACH", "2.00%", "2/100"],
        ["2026-10-31T00:00:00Z", "BREACH", "3.00%", "3/100"],
        ["2026-11-01T00:00:00Z", "BREACH", "4.00%", "4/100"],
    ]


def test_limit_keeps_the_latest_runs(store):
    engine, url = store
    _runs(engine)
    result = history("acme", ODR, "--db", url, "--limit", "2")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == "trend  ▁█"
    assert [line.split()[0] for line in result.output.splitlines()[4:]] == [
        "2026-10-31T00:00:00Z",
        "2026-11-01T00:00:00Z",
    ]


def test_without_a_rule_one_line_per_rule(store):
    engine, url = store
    _runs(engine)
    result = history("acme", "--db", url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    rules = {rule.id for rule in builtin_pack("amazon").rules}
    assert lines[0] == f"acme: {len(rules)} rule(s), up to 5 run(s)"
    body = {line.split()[0]: line for line in lines[3:]}
    assert set(body) == rules
    assert body[ODR].split()[1:] == ["▁▃▅▆█", "4.00%", "BREACH"]


def test_unknown_account_or_rule_exits_2(store):
    engine, url = store
    _runs(engine, days=(0,))
    result = history("nobody", "--db", url)
    assert result.exit_code == 2 and "no such account in the store: nobody" in result.output
    result = history("acme", "amazon.no_such_rule", "--db", url)
    assert result.exit_code == 2
    assert "no stored result of rule amazon.no_such_rule for account acme" in result.output


def test_an_account_never_checked_says_so(tmp_path):
    db = str(tmp_path / "empty.db")
    Seller("quiet").save(open_store(db))
    result = history("quiet", "--db", db)
    assert result.exit_code == 0 and result.output == "quiet: no check run stored yet\n"


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ([], ""),
        ([1.0], "▁"),
        ([2, 2, 2], "▁▁▁"),
        ([0, 1, 2, 3, 4, 5, 6, 7], BARS),
        ([7, 0], "█▁"),
        ([0.0100, 0.0106, 0.0120], "▁▃█"),  # a drift of a fifth of a point still shows
        ([None, 1, None, 3], " ▁ █"),
        ([None, None], "  "),
        ([1, float("nan"), 2], "▁ █"),
        ([-5, 0, 5], "▁▅█"),
    ],
)
def test_sparkline(values, line):
    assert sparkline(values) == line


def test_a_mistyped_store_is_refused_not_created(tmp_path):
    missing = tmp_path / "histroy.db"
    result = history("acme", "--db", str(missing))
    assert result.exit_code == 2 and f"--db: no store at {missing}" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("postgresql://u:S3cretPw@127.0.0.1:1/db", "--db: cannot open postgresql+psycopg://u:***@"),
        ("postgresql://u:S3cretPw@h:notaport/db", "--db: not a database URL: its port is not"),
        ("postgresql+nodriver://u:S3cretPw@h/db", "--db: cannot open postgresql+nodriver://u:***@"),
    ],
)
def test_an_unusable_database_is_bad_input_without_its_password(url, words):
    result = history("acme", "--db", url)
    assert result.exit_code == 2, result.output
    assert words in result.output and "S3cretPw" not in result.output
    assert "Traceback" not in result.output
