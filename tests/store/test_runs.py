"""Stored runs listed, shown and deleted; how far the stored records reach."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_pack
from seller_health.store.history import (
    ACCOUNTS,
    RULES,
    RUNS,
    delete_runs,
    list_runs,
    load_latest,
    run_accounts,
    save_run,
)
from seller_health.store.records import newest_record
from tests.factory import Seller, T, ago

ODR = "amazon.order_defect_rate"


def _store(engine) -> None:
    acme = Seller("acme")
    for i in range(100):
        acme.order(f"o{i}", ago(days=10 + i % 20))
    for i in range(2):
        acme.event(f"e{i}", "a_to_z_claim", ago(days=5), order_id=f"o{i}")
    acme.message("m1", "t1", ago(days=3), direction="in")
    acme.save(engine)
    quiet = Seller("quiet", "etsy")
    quiet.order("q1", ago(days=40))
    quiet.save(engine)


def _run(engine, days: int = 0, accounts: list[str] | None = None) -> int:
    return save_run(
        engine, evaluate(engine, [builtin_pack("amazon")], T - timedelta(days), accounts)
    )


def test_runs_are_listed_newest_first_with_what_they_judged(engine):
    _store(engine)
    first = _run(engine)
    backfill = _run(engine, days=20, accounts=["acme"])
    with engine.connect() as conn:
        runs = list_runs(conn)
        assert [r.run_id for r in runs] == [backfill, first]  # the order made, not as_of
        latest, past = runs[1], runs[0]
        assert (latest.as_of, latest.accounts, latest.status) == (T, 2, "breach")
        assert latest.data_until == ago(days=3)  # acme's message, the newest before T
        assert (past.as_of, past.accounts) == (T - timedelta(days=20), 1)
        assert past.data_until == ago(days=21)  # an order: no claim or message yet
        assert latest.started_at <= past.started_at

        assert [r.run_id for r in list_runs(conn, account_ids=["quiet"])] == [first]
        assert [r.run_id for r in list_runs(conn, limit=1)] == [backfill]
        assert [r.run_id for r in list_runs(conn, run_ids=[first, 99])] == [first]
        assert list_runs(conn, account_ids=["nobody"]) == []


def test_a_run_with_no_records_before_it_has_no_data_time(engine):
    _store(engine)
    run_id = _run(engine, days=60)
    with engine.connect() as conn:
        (run,) = list_runs(conn)
    assert run.run_id == run_id and run.data_until is None


def test_a_runs_accounts_with_their_failing_rules(engine):
    _store(engine)
    run_id = _run(engine)
    with engine.connect() as conn:
        acme, quiet = run_accounts(conn, run_id)
        assert (acme.account_id, acme.marketplace, acme.status) == ("acme", "amazon", "breach")
        assert acme.failing[0] == (ODR, "breach")
        assert {status for _, status in acme.failing} <= {"breach", "warn"}
        assert (quiet.account_id, quiet.failing) == ("quiet", [])
        with pytest.raises(LookupError, match="no check run 42"):
            run_accounts(conn, 42)


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_delete_removes_runs_with_their_results_or_nothing(engine):
    _store(engine)
    keep, gone, also_gone = _run(engine, days=1), _run(engine), _run(engine, accounts=["acme"])
    with pytest.raises(LookupError, match="no check run 7, 8"):
        delete_runs(engine, [gone, 8, 7])
    assert _count(engine, RUNS) == 3  # nothing deleted

    assert delete_runs(engine, [gone, also_gone, gone]) == 3  # account results deleted
    with engine.connect() as conn:
        assert [r.run_id for r in list_runs(conn)] == [keep]
    assert _count(engine, ACCOUNTS) == 2
    with engine.connect() as conn:
        left = conn.execute(select(RULES.c.run_id).distinct()).scalars().all()
    assert left == [keep]
    # The deleted run is no longer "the latest": the kept one is.
    assert load_latest(engine, ["acme"]).run_id == keep


def test_newest_record_is_the_newest_order_message_or_event(engine):
    _store(engine)
    with engine.connect() as conn:
        assert newest_record(conn, ["acme", "quiet"]) == ago(days=3)
        assert newest_record(conn, ["quiet"]) == ago(days=40)
        assert newest_record(conn, ["acme"], before=ago(days=4)) == ago(days=5)
        assert newest_record(conn, ["acme"], before=ago(days=5)) == ago(days=10)
        assert newest_record(conn, ["nobody"]) is None
        assert newest_record(conn, []) is None
