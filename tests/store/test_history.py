from datetime import timedelta

from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_pack
from seller_health.store.history import rule_history, save_run
from tests.factory import Seller, T, ago

ODR = "amazon.order_defect_rate"


def _seller(engine, defects: int) -> None:
    seller = Seller("acme")
    for i in range(100):
        seller.order(f"o{i}", ago(days=10 + i % 20))
    for i in range(defects):
        seller.event(f"e{i}", "a_to_z_claim", ago(days=5), order_id=f"o{i}")
    seller.save(engine)


def test_history_is_oldest_first_limited_and_counts_a_rerun_once(engine):
    _seller(engine, defects=1)
    pack = builtin_pack("amazon")
    for days in (3, 2, 1, 0):
        save_run(engine, evaluate(engine, [pack], as_of=T - timedelta(days=days)))
    save_run(engine, evaluate(engine, [pack], as_of=T))  # the same moment again

    with engine.connect() as conn:
        series = rule_history(conn, ["acme"], rule_ids=[ODR], limit=3)
        assert list(series) == [("acme", ODR)]
        points = series["acme", ODR]
        assert [p.as_of for p in points] == [T - timedelta(days=d) for d in (2, 1, 0)]
        assert points[-1].run_id == 5  # the re-run, not run 4
        assert [p.value for p in points] == [0.01, 0.01, 0.01]
        assert {p.status for p in points} == {"breach"}

        until = rule_history(conn, ["acme"], rule_ids=[ODR], until=T - timedelta(days=2))
        assert [p.as_of for p in until["acme", ODR]] == [
            T - timedelta(days=3),
            T - timedelta(days=2),
        ]

        everything = rule_history(conn, ["acme", "nobody"])
        assert len(everything) == len(pack.rules)
        assert rule_history(conn, ["nobody"]) == {}


def test_latest_is_the_newest_moment_checked_not_the_last_run(engine):
    from seller_health.store.history import load_latest

    _seller(engine, defects=1)
    pack = builtin_pack("amazon")
    save_run(engine, evaluate(engine, [pack], as_of=T))
    save_run(engine, evaluate(engine, [pack], as_of=T - timedelta(days=60)))  # a backfill
    assert load_latest(engine, ["acme"]).as_of == T
