"""``seller-health runs``, ``check --save`` and the warning of an ``--as-of`` past the data."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from seller_health.app.cli import main
from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_pack
from seller_health.store.history import ACCOUNTS, RULES, RUNS, save_run
from tests.factory import Seller, T, ago

AS_OF = "2026-11-01T00:00:00Z"
ODR = "amazon.order_defect_rate"


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _sellers(engine) -> None:
    """acme breaches (3 claims in 100 orders, a message 2 days before T); quiet's last order is
    40 days old."""
    acme = Seller("acme")
    for i in range(100):
        acme.order(f"o{i}", ago(days=10 + i % 20))
    for i in range(3):
        acme.event(f"e{i}", "a_to_z_claim", ago(days=5), order_id=f"o{i}")
    acme.message("m1", "t1", ago(days=2), direction="in")
    acme.save(engine)
    Seller("quiet", "etsy").order("q1", ago(days=40)).save(engine)


def _run(engine, days: int = 0, accounts: list[str] | None = None) -> int:
    return save_run(
        engine, evaluate(engine, [builtin_pack("amazon")], T - timedelta(days), accounts)
    )


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines()[1:]]


def test_list_is_newest_first_with_the_data_time_judged(store):
    engine, url = store
    _sellers(engine)
    first, second = _run(engine), _run(engine, days=30, accounts=["acme"])

    result = cli("runs", "list", "--db", url)
    assert result.exit_code == 0, result.output
    header, *rows = [line.split() for line in result.stdout.splitlines()]
    assert header == ["run", "ran", "at", "as", "of", "data", "until", "accounts", "worst"]
    # Columns but "ran at", which is now: the run, as of, data until, accounts.
    assert [[row[0], *row[2:5]] for row in rows] == [
        [str(second), "2026-10-02T00:00:00Z", "-", "1"],  # acme had no record yet then
        [str(first), AS_OF, "2026-10-30T00:00:00Z", "2"],  # acme's message, 2 days before
    ]
    assert rows[1][5:] == ["BREACH"]  # the worst of its accounts

    only_quiet = cli("runs", "list", "--db", url, "--account", "quiet")
    assert [row[0] for row in _rows(only_quiet.stdout)] == [str(first)]
    limited = cli("runs", "list", "--db", url, "--limit", "1")
    assert [row[0] for row in _rows(limited.stdout)] == [str(second)]


def test_list_names_an_unknown_account_and_says_when_there_is_nothing(store):
    engine, url = store
    _sellers(engine)
    empty = cli("runs", "list", "--db", url)
    assert (empty.exit_code, empty.stdout) == (0, "no check run stored\n")
    unknown = CliRunner().invoke(main, ["runs", "list", "--db", url, "--account", "acme-x"])
    assert unknown.exit_code == 2
    assert "no such account in the store: acme-x" in unknown.stderr


def test_show_lists_accounts_worst_first_with_their_failing_rules(store):
    engine, url = store
    _sellers(engine)
    run_id = _run(engine)
    result = cli("runs", "show", str(run_id), "--db", url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].split()[0] == str(run_id) and f" {AS_OF} " in lines[1]  # as runs list
    assert lines[3].split() == ["account", "status", "failing", "rules"]
    # acme breaches: its unanswered message, its claims; a failing rule a line, breaches first
    assert [line.split() for line in lines[4:]] == [
        ["acme", "BREACH", ODR, "(BREACH)"],
        ["amazon.response_within_24h", "(BREACH)"],
        ["quiet", "ok", "-"],
    ]

    missing = CliRunner().invoke(main, ["runs", "show", "99", "--db", url])
    assert missing.exit_code == 2 and "no check run 99" in missing.stderr


def test_delete_needs_yes_names_unknown_ids_and_removes_the_results(store):
    engine, url = store
    _sellers(engine)
    kept, wrong = _run(engine, days=1), _run(engine)
    assert cli("report", "--db", url, "--run", str(wrong), "--format", "json").exit_code == 0

    asked = CliRunner().invoke(main, ["runs", "delete", str(wrong), "--db", url])
    assert asked.exit_code == 2
    assert f"would delete run {wrong}: as of {AS_OF}" in asked.stdout
    assert "add --yes" in asked.stderr
    assert _count(engine, RUNS) == 2

    unknown = CliRunner().invoke(main, ["runs", "delete", str(wrong), "77", "--db", url, "--yes"])
    assert unknown.exit_code == 2 and "no check run 77" in unknown.stderr
    assert _count(engine, RUNS) == 2  # all or nothing

    done = cli("runs", "delete", str(wrong), "--db", url, "--yes")
    assert done.exit_code == 0 and done.stdout.startswith(f"deleted run {wrong}: ")
    assert _count(engine, RUNS) == 1
    with engine.connect() as conn:
        for table in (ACCOUNTS, RULES):
            left = conn.execute(select(table.c.run_id).distinct()).scalars().all()
            assert left == [kept]
    gone = CliRunner().invoke(main, ["report", "--db", url, "--run", str(wrong)])
    assert gone.exit_code == 2 and f"no check run {wrong}" in gone.stderr
    # The kept run is the latest again, for report (and email) alike.
    latest = cli("report", "--db", url, "--format", "json", "--account", "acme")
    assert latest.exit_code == 0 and '"as_of": "2026-10-31T00:00:00Z"' in latest.stdout


def _data(tmp_path):
    """A directory in the import format: one account, a few orders before T."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "accounts.csv").write_text("account_id,marketplace\nfiles-de,amazon\n")
    orders = ["account_id,order_id,purchased_at,status,fulfillment"]
    orders += [f"files-de,f{i},2026-10-{10 + i}T12:00:00Z,shipped,merchant" for i in range(5)]
    (data / "orders.csv").write_text("\n".join(orders) + "\n")
    return data


def test_check_of_files_is_not_kept_unless_saved(store, tmp_path):
    engine, url = store
    _sellers(engine)
    data = _data(tmp_path)
    args = ["check", "--data", str(data), "--db", url, "--as-of", AS_OF, "--fail-on", "never"]

    assert cli(*args).exit_code == 0
    assert _count(engine, RUNS) == 0  # imported, checked, not kept
    assert cli("runs", "list", "--db", url).stdout == "no check run stored\n"
    assert cli(*args, "--no-save").exit_code == 0 and _count(engine, RUNS) == 0

    assert cli(*args, "--save").exit_code == 0
    assert _count(engine, RUNS) == 1
    listed = _rows(cli("runs", "list", "--db", url).stdout)
    assert [(row[0], row[4]) for row in listed] == [("1", "3")]  # files-de, acme, quiet

    plain = ["check", "--db", url, "--as-of", AS_OF, "--fail-on", "never"]
    assert cli(*plain).exit_code == 0 and _count(engine, RUNS) == 2  # kept, as always
    assert cli(*plain, "--no-save").exit_code == 0 and _count(engine, RUNS) == 2


def test_files_checked_in_memory_cannot_be_saved(tmp_path):
    data = _data(tmp_path)
    result = CliRunner().invoke(main, ["check", "--data", str(data), "--as-of", AS_OF, "--save"])
    assert result.exit_code == 2 and "--save" in result.stderr and "--db" in result.stderr
    unsaved = cli("check", "--data", str(data), "--as-of", AS_OF, "--format", "json")
    assert unsaved.exit_code == 0 and '"run_id"' not in unsaved.stdout


def test_an_as_of_far_past_the_records_warns_and_changes_no_exit_code(store):
    engine, url = store
    _sellers(engine)
    late = "2026-12-01T00:00:00Z"
    result = CliRunner().invoke(
        main, ["check", "--db", url, "--as-of", late, "--format", "json", "--fail-on", "never"]
    )
    assert result.exit_code == 0
    assert result.stderr == (
        f"warning: --as-of {late} is 32 days after the newest record (2026-10-30T00:00:00Z): "
        "windows may be empty\n"
    )
    assert result.stdout.startswith("{")  # the report itself is untouched

    near = CliRunner().invoke(main, ["check", "--db", url, "--as-of", "2026-11-06T00:00:00Z"])
    assert near.exit_code == 1 and near.stderr == ""  # 7 days: no warning, acme breaches
    # Only the accounts checked count: quiet's last order is 40 days before T.
    quiet = CliRunner().invoke(main, ["check", "--db", url, "--as-of", AS_OF, "--account", "quiet"])
    assert quiet.exit_code == 0
    assert "is 40 days after the newest record (2026-09-22T00:00:00Z)" in quiet.stderr
