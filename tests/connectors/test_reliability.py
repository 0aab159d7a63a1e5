"""Sync reliability: with a tenth of the requests failing, the stored data equals a clean run's."""

import random
from datetime import UTC, datetime

import httpx
import respx
from sqlalchemy import select

from seller_health.ingest.sync import sync_stream
from seller_health.store.db import open_store
from seller_health.store.models import Order
from tests.connectors.test_amazon import API, LWA, connector, lwa_ok, v2026_order

NOW = datetime(2026, 11, 1, tzinfo=UTC)
PAGES = 12


def serve(fail_share: float, seed: int):
    """300 orders in pages of 25 (pages addressed by token); a seeded share of calls fail."""
    orders = [v2026_order(n) for n in range(PAGES * 25)]
    rng = random.Random(seed)
    failures = {"count": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        if rng.random() < fail_share:
            failures["count"] += 1
            kind = rng.choice(["429", "500", "503", "timeout"])
            if kind == "timeout":
                raise httpx.ReadTimeout("simulated", request=request)
            body = {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota"}]}
            return httpx.Response(int(kind), json=body)
        page = int(request.url.params.get("paginationToken", "0"))
        body = {"orders": orders[page * 25 : (page + 1) * 25]}
        if page + 1 < PAGES:
            body["pagination"] = {"nextToken": str(page + 1)}
        return httpx.Response(200, json=body)

    return answer, failures


def stored(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(select(Order.__table__).order_by(Order.__table__.c.order_id))
        ]


@respx.mock
def test_ten_percent_failures_give_the_same_data_as_a_clean_run():
    lwa_ok(respx.post(LWA))
    route = respx.get(f"{API}/orders/2026-01-01/orders")
    results = []
    for share in (0.0, 0.1):
        engine = open_store("sqlite://")
        answer, failures = serve(share, seed=7)
        route.mock(side_effect=answer)
        summary = sync_stream(engine, connector(), "orders", now=NOW)
        results.append((stored(engine), summary.fetched, failures["count"]))
    (clean, clean_fetched, _), (faulty, faulty_fetched, failed) = results
    assert failed >= 2  # the faults really happened
    assert faulty == clean and len(clean) == PAGES * 25 and faulty_fetched == clean_fetched
