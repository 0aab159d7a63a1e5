"""The bundled examples import cleanly and every verdict matches the spec's arithmetic."""

from pathlib import Path

from sqlalchemy import select

from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_packs
from seller_health.ingest.importer import import_directory
from seller_health.store.models import Account, Event, Message, Order
from tests import oracle
from tests.factory import T

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "data"


def _records(conn, model) -> list[dict]:
    return [dict(row._mapping) for row in conn.execute(select(model.__table__))]


def test_examples_give_the_spec_verdict_for_every_account(engine):
    report = import_directory(engine, EXAMPLES)
    assert not report.warnings
    with engine.connect() as conn:
        data = [_records(conn, model) for model in (Account, Order, Message, Event)]
    expected = oracle.evaluate(*data, T)
    result = evaluate(engine, builtin_packs(), T, evidence_limit=100_000)
    statuses = {a.account_id: a.status for a in result.accounts}
    assert statuses == {account_id: e["status"] for account_id, e in expected.items()}
    assert sum(s == "breach" for s in statuses.values()) >= 2  # the examples show trouble
    for account in result.accounts:
        want = expected[account.account_id]
        assert account.extra.get("level") == want.get("level")
        for r in account.results:
            w = want["results"][r.rule]
            got = (r.status, r.value, r.numerator, r.denominator, r.headroom, r.count)
            got += (r.steps, r.recovery)
            keys = ("status", "value", "numerator", "denominator", "headroom", "count")
            keys += ("steps", "recovery")
            want_values = tuple(w.get(k, {} if k in ("steps", "recovery") else None) for k in keys)
            assert got == want_values, f"{account.account_id} {r.rule}"
