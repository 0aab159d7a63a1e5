"""The SQL engine agrees with a plain-Python reading of ``metrics.md`` on random data.

``tests/oracle.py`` was written independently of the engine, from the spec alone. Instants
cluster on the spec's boundaries (exactly 24 h, exactly the window start, exactly T) where
off-by-one mistakes live.
"""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text

from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_packs
from seller_health.ingest.importer import EVENT_KINDS
from seller_health.store.models import Account, Event, Message, Order
from tests import oracle
from tests.conftest import SELLER_TABLES
from tests.factory import T

BOUNDARIES_H = [
    0,
    1,
    23,
    24,
    25,
    47,
    48,
    49,
    7 * 24,
    10 * 24,
    14 * 24,
    30 * 24,
    60 * 24,
    90 * 24,
    365 * 24,
]


@st.composite
def instants(draw: st.DrawFn, *, future: bool = True) -> Any:
    """Mostly on or one second around a boundary; sometimes anywhere in the last 13 months."""
    if draw(st.booleans()):
        hours = draw(st.sampled_from(BOUNDARIES_H))
        nudge = draw(st.sampled_from([-1, 0, 0, 1]))
        moment = T - timedelta(hours=hours, seconds=nudge)
    else:
        span = draw(st.sampled_from([100, 100, 100, 400])) * 86400
        moment = T - timedelta(seconds=draw(st.integers(-86400 if future else 0, span)))
    return moment.astimezone(draw(st.sampled_from(OFFSETS)))


OFFSETS = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-7))]


GAPS = [
    timedelta(seconds=s)
    for s in (0, 1, 600, 3600, 86399, 86400, 86401, 172799, 172800, 172801, 4 * 86400)
]


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy)


def after(draw: st.DrawFn, start: Any, *hours: int) -> Any:
    return start + timedelta(
        hours=draw(st.sampled_from(hours)), seconds=draw(st.sampled_from([0, 0, 1, -1]))
    )


@st.composite
def datasets(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    accounts = [
        {"account_id": f"a{i}", "marketplace": m}
        for i, m in enumerate(
            draw(
                st.lists(
                    st.sampled_from(oracle.MARKETPLACES + ("other",)),
                    min_size=1,
                    max_size=2,
                    unique=True,
                )
            )
        )
    ]
    ids = [a["account_id"] for a in accounts]
    orders, messages, events = [], [], []
    for n in range(draw(st.integers(0, 30))):
        bought = draw(instants())
        order: dict[str, Any] = {
            "account_id": draw(st.sampled_from(ids)),
            "order_id": f"o{n:02}",
            "purchased_at": bought,
            "status": draw(st.sampled_from(["shipped", "delivered", "cancelled", "unshipped"])),
            "fulfillment": draw(st.sampled_from(["merchant", "merchant", "marketplace"])),
            "ship_by": draw(maybe(st.just(after(draw, bought, 24, 48)))),
            "shipped_at": draw(maybe(st.just(after(draw, bought, 1, 24, 48, 72)))),
            "deliver_by": draw(maybe(st.just(after(draw, bought, 72, 120)))),
            "delivered_at": draw(maybe(st.just(after(draw, bought, 48, 120, 200)))),
            "tracking_id": draw(st.sampled_from([None, "1Z", "1Z"])),
            "tracking_valid": draw(maybe(st.booleans())),
            "cancelled_at": draw(maybe(st.just(after(draw, bought, 1, 30)))),
            "cancelled_by": draw(maybe(st.sampled_from(["buyer", "seller", "marketplace"]))),
            "refunded_at": draw(maybe(st.just(after(draw, bought, 100)))),
            "buyer_id": draw(maybe(st.sampled_from(["b1", "b2", "b3"]))),
            "total": draw(
                maybe(st.sampled_from([Decimal("9.99"), Decimal("120"), Decimal("300")]))
            ),
            "currency": draw(maybe(st.sampled_from(["USD", "EUR", "GBP"]))),
        }
        orders.append(order)
    order_ids = [o["order_id"] for o in orders] or ["o-none"]
    n = 0
    for thread in range(draw(st.integers(2, 10))):
        account_id, thread_id = draw(st.sampled_from(ids)), f"t{thread}"
        moment = draw(instants())
        for _ in range(draw(st.integers(2, 6))):
            messages.append(
                {
                    "account_id": account_id,
                    "message_id": f"m{n:02}",
                    "thread_id": thread_id,
                    "sent_at": moment,
                    "direction": draw(st.sampled_from(["in", "in", "out"])),
                    "needs_reply": draw(st.sampled_from([None, None, True, False])),
                    "channel": draw(st.sampled_from(["marketplace", "messenger", "email"])),
                    "resolved_at": draw(maybe(st.just(moment + GAPS[-1]) | instants())),
                    "agent": draw(maybe(st.sampled_from(["ana", "bo"]))),
                    "automated": draw(st.sampled_from([None, False, False, True])),
                }
            )
            n += 1
            moment = moment + draw(st.sampled_from(GAPS))
    for n in range(draw(st.integers(0, 20))):
        kind = draw(st.sampled_from(EVENT_KINDS))
        survey = draw(st.sampled_from(["nps", "csat", "ces"])) if kind == "survey" else None
        top = {"nps": 10, "csat": 5, "ces": 7}.get(survey or "", 5)
        occurred = draw(instants())
        events.append(
            {
                "account_id": draw(st.sampled_from(ids)),
                "event_id": f"e{n:02}",
                "kind": kind,
                "order_id": draw(st.sampled_from(order_ids)),
                "occurred_at": occurred,
                "rating": draw(st.integers(0 if survey == "nps" else 1, top))
                if kind in ("feedback", "review", "survey")
                else None,
                "survey": survey,
                "status": draw(st.sampled_from([None, "open", "closed", "withdrawn", "removed"])),
                "closed_without_seller_resolution": draw(maybe(st.booleans())),
                "responded_at": draw(maybe(st.just(after(draw, occurred, 24, 48, 72)))),
            }
        )
    return {"accounts": accounts, "orders": orders, "messages": messages, "events": events}


def _load(engine, data: dict[str, list[dict[str, Any]]]) -> None:
    with engine.begin() as conn:
        for table in SELLER_TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(
            insert(Account.__table__),
            [{"locale": "en", "timezone": "UTC", **a} for a in data["accounts"]],
        )
        for model, rows in (
            (Order, data["orders"]),
            (Message, data["messages"]),
            (Event, data["events"]),
        ):
            if rows:
                conn.execute(insert(model.__table__), rows)


def _compare(engine, data: dict[str, list[dict[str, Any]]]) -> None:
    _load(engine, data)
    expected = oracle.evaluate(
        data["accounts"], data["orders"], data["messages"], data["events"], T
    )
    got = evaluate(engine, builtin_packs(), T, evidence_limit=10_000)
    assert {a.account_id for a in got.accounts} == set(expected)
    for account in got.accounts:
        want = expected[account.account_id]
        assert account.status == want["status"], account.account_id
        if "level" in want:
            assert account.extra.get("level") == want["level"]
        results = {r.rule: r for r in account.results}
        assert set(results) == set(want["results"])
        for rule_id, w in want["results"].items():
            r = results[rule_id]
            context = f"{account.account_id} {rule_id}"
            assert (r.status, r.value, r.numerator, r.denominator) == (
                w["status"],
                w["value"],
                w["numerator"],
                w["denominator"],
            ), context
            assert r.headroom == w["headroom"], context
            assert (r.steps, r.recovery) == (w.get("steps", {}), w.get("recovery", {})), context
            assert r.count == w.get("count"), context
            if "p90" in w:
                assert r.p90 == w["p90"], context
            if rule_id == "service.repeat_purchase_rate":
                assert sorted(r.evidence) == sorted(w["evidence"]), context  # buyers: any order
            else:
                assert r.evidence == w["evidence"], context


# As many examples as the profile gives (60 by default, 1,000 with --hypothesis-profile=deep);
# PostgreSQL is slower per example: a fifth of them.
@pytest.mark.slow
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=datasets())
def test_sql_engine_matches_the_spec_on_sqlite(engine, data):
    _compare(engine, data)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
@settings(
    max_examples=max(10, settings.default.max_examples // 5),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=datasets())
def test_sql_engine_matches_the_spec_on_postgresql(engine, data):
    _compare(engine, data)
