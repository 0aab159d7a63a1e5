"""Amazon connector against respx-mocked SP-API and LWA, fed with the official models' examples."""

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx
from sqlalchemy import select, text

from seller_health.connectors.amazon import (
    AmazonConnector,
    AmazonCredentials,
    amazon_limiter,
    order_from_v0,
    order_from_v2026,
)
from seller_health.connectors.base import Malformed
from seller_health.connectors.http import Caller, RetryPolicy, make_client
from seller_health.ingest.sync import bookmark, sync_stream
from seller_health.store.models import Order, Quarantined

MODELS = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "amazon-models"
API = "https://sellingpartnerapi-eu.amazon.com"
LWA = "https://api.amazon.com/auth/o2/token"
SECRET, REFRESH, ACCESS = "lwa-secret-XYZ", "Atzr|refresh-SECRET", "Atza|access-SECRET"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def model_example(name: str, path: str) -> dict:
    if not MODELS.exists():
        pytest.skip(f"official models not found at {MODELS} (a clone without shared/)")
    model = json.loads((MODELS / name).read_text())
    return model["paths"][path]["get"]["responses"]["200"]["examples"]["application/json"]


def test_official_v2026_example_maps_to_the_import_format():
    raw = model_example("orders_2026-01-01.json", "/orders/2026-01-01/orders")["orders"][0]
    order = order_from_v2026(raw)
    assert order["order_id"] == "123-4567890-1234567"
    assert order["purchased_at"] == datetime(2024, 12, 25, 10, 30, tzinfo=UTC)
    assert (order["fulfillment"], order["currency"], str(order["total"])) == (
        "merchant",
        "USD",
        "154.99",
    )
    assert order["ship_by"] is not None and order["buyer_id"] and "@" not in order["buyer_id"]


def test_official_v0_example_maps_to_the_import_format():
    raw = model_example("ordersV0.json", "/orders/v0/orders")["payload"]["Orders"][0]
    order = order_from_v0(raw)
    assert (order["order_id"], order["status"], order["fulfillment"]) == (
        "902-3159896-1390916",
        "pending",
        "merchant",
    )
    assert order["ship_by"] == datetime(2017, 1, 25, 19, 49, 35, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"orderId": None}, "orderId is missing"),
        ({"createdTime": "yesterday"}, "createdTime"),
        ({"fulfillment": {"fulfillmentStatus": "LOST"}}, "unknown value 'LOST'"),
    ],
)
def test_malformed_orders_name_the_field(change, words):
    raw = {
        "orderId": "1",
        "createdTime": "2026-10-01T00:00:00Z",
        "lastUpdatedTime": "2026-10-01T00:00:00Z",
        "salesChannel": {"channelName": "AMAZON"},
        "orderItems": [],
        "fulfillment": {"fulfillmentStatus": "SHIPPED"},
        **change,
    }
    with pytest.raises(Malformed, match=words):
        order_from_v2026(raw)


def v2026_order(n: int, **extra) -> dict:
    return {
        "orderId": f"114-0000000-{n:07}",
        "createdTime": "2026-10-20T10:00:00Z",
        "lastUpdatedTime": "2026-10-21T10:00:00Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
        "orderItems": [],
        "fulfillment": {
            "fulfillmentStatus": "SHIPPED",
            "fulfilledBy": "MERCHANT",
            "shipByWindow": {"latestDateTime": "2026-10-22T00:00:00Z"},
        },
        "packages": [
            {
                "packageReferenceId": "1",
                "shipTime": "2026-10-21T09:00:00Z",
                "trackingNumber": "1Z",
                "packageStatus": {"status": "IN_TRANSIT"},
            }
        ],
        **extra,
    }


def connector(**kwargs) -> AmazonConnector:
    limiter = amazon_limiter(scale=1000)
    caller = Caller(
        make_client(),
        limiter,
        RetryPolicy(attempts=4, initial_wait=0, max_wait=0, sleep=lambda s: None),
    )
    credentials = AmazonCredentials("amzn1.application-oa2-client.x", SECRET, REFRESH)
    return AmazonConnector(
        "acme-de", credentials, ["A1PA6795UKMFR9"], region="eu", caller=caller, **kwargs
    )


def lwa_ok(route):
    route.mock(
        return_value=httpx.Response(
            200,
            json={
                "access_token": ACCESS,
                "token_type": "bearer",
                "expires_in": 3600,
                "refresh_token": REFRESH,
            },
        )
    )


@respx.mock
def test_sync_pages_quarantines_and_is_idempotent(engine, caplog):
    caplog.set_level(logging.DEBUG)
    lwa_ok(respx.post(LWA))
    pages = {
        None: {"orders": [v2026_order(1), v2026_order(2)], "pagination": {"nextToken": "p2"}},
        "p2": {
            "orders": [v2026_order(3), v2026_order(4, orderId="114-bad", createdTime="not a date")]
        },
    }

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["x-amz-access-token"] == ACCESS
        assert "lastUpdatedAfter" in request.url.params and "createdAfter" not in request.url.params
        body = pages[request.url.params.get("paginationToken")]
        return httpx.Response(200, json=body, headers={"x-amzn-RateLimit-Limit": "0.0056"})

    respx.get(f"{API}/orders/2026-01-01/orders").mock(side_effect=answer)
    first = sync_stream(engine, connector(), "orders", now=NOW)
    assert (first.fetched, first.stored, first.updated, first.quarantined) == (4, 3, 0, 1)
    again = sync_stream(engine, connector(), "orders", now=NOW + timedelta(hours=1))
    assert (again.stored, again.updated, again.quarantined) == (0, 3, 1)
    with engine.connect() as conn:
        assert conn.execute(select(Order.__table__.c.order_id)).scalars().all() == [
            "114-0000000-0000001",
            "114-0000000-0000002",
            "114-0000000-0000003",
        ]
        quarantined = conn.execute(select(Quarantined.__table__)).all()
        dump = " ".join(
            str(row)
            for table in ("orders", "quarantine", "sync_bookmarks", "accounts")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        )
    assert len(quarantined) == 1 and "createdTime" in quarantined[0].reason
    # Amazon wants the interval to end two minutes before the request: so does the bookmark
    assert bookmark(engine, "acme-de", "orders").cursor == NOW + timedelta(hours=1, minutes=-2)
    for secret in (SECRET, REFRESH, ACCESS):
        assert secret not in caplog.text and secret not in dump
        assert secret not in repr(connector()) and secret not in repr(connector().tokens)


@respx.mock
def test_token_is_cached_and_refreshed_after_a_403(engine):
    token_route = respx.post(LWA)
    lwa_ok(token_route)
    responses = iter(
        [
            httpx.Response(200, json={"orders": [v2026_order(1)]}),
            httpx.Response(403, json={"errors": [{"code": "Unauthorized", "message": "expired"}]}),
            httpx.Response(200, json={"orders": [v2026_order(2)]}),
        ]
    )
    respx.get(f"{API}/orders/2026-01-01/orders").mock(side_effect=lambda request: next(responses))
    amazon = connector()
    list(amazon.orders(NOW - timedelta(days=1), NOW))
    assert token_route.call_count == 1  # cached
    list(amazon.orders(NOW - timedelta(days=1), NOW))
    assert token_route.call_count == 2  # refreshed after the 403, then the call succeeded


@respx.mock
def test_invalid_grant_becomes_a_finding_not_a_crash(engine):
    respx.post(LWA).mock(
        return_value=httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "revoked"}
        )
    )
    summary = sync_stream(engine, connector(), "orders", now=NOW)
    assert summary.finding and "re-authorisation" in summary.finding
    assert REFRESH not in summary.finding and SECRET not in summary.finding
    assert bookmark(engine, "acme-de", "orders").cursor is None  # nothing skipped


@respx.mock
def test_v0_orders_follow_next_token_alone():
    lwa_ok(respx.post(LWA))
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        if "NextToken" in request.url.params:
            return httpx.Response(200, json={"payload": {"Orders": []}})
        order = {
            "AmazonOrderId": "1",
            "PurchaseDate": "2026-10-01T00:00:00Z",
            "LastUpdateDate": "2026-10-01T00:00:00Z",
            "OrderStatus": "Shipped",
            "FulfillmentChannel": "AFN",
        }
        return httpx.Response(200, json={"payload": {"Orders": [order], "NextToken": "n1"}})

    respx.get(f"{API}/orders/v0/orders").mock(side_effect=answer)
    pages = list(connector(orders_version="v0").orders(NOW - timedelta(days=1), NOW))
    assert [len(p.records) for p in pages] == [1, 0]
    assert seen[0]["LastUpdatedBefore"] == "2026-11-01T00:00:00Z"
    assert set(seen[1]) == {"MarketplaceIds", "NextToken"}


@respx.mock
def test_check_shows_quarantined_records_and_findings_as_notes(engine):
    from seller_health.engine.evaluate import evaluate
    from seller_health.engine.rules import builtin_pack

    lwa_ok(respx.post(LWA))
    bad = v2026_order(2, createdTime="soon")
    respx.get(f"{API}/orders/2026-01-01/orders").mock(
        return_value=httpx.Response(200, json={"orders": [v2026_order(1), bad]})
    )
    sync_stream(engine, connector(), "orders", now=NOW)
    account = evaluate(engine, [builtin_pack("amazon")], NOW).accounts[0]
    assert account.notes == ["1 orders record(s) from the marketplace could not be read"]
