"""Orders API semantics: pagination, filters, time rules, tokens, and fidelity to ground truth."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seller_health.simulator.responses import iso
from tests.simulator.conftest import HEALTHY, TROUBLED, token_for

SEARCH = "/orders/2026-01-01/orders"
V0 = "/orders/v0/orders"


def _walk(client, headers, params, size):
    seen = []
    token = None
    while True:
        query = dict(params, maxResultsPerPage=size)
        if token:
            query["paginationToken"] = token
        answer = client.get(SEARCH, params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["orders"]) <= size
        seen.extend(page["orders"])
        token = page.get("pagination", {}).get("nextToken")
        if token is None:
            assert "pagination" not in page
            return seen


@pytest.mark.parametrize("size", [1, 37, 100])
def test_search_orders_walks_every_order_exactly_once(client, headers, size):
    truth = client.app.state.simulator.orders_for(HEALTHY)
    # One-order pages walk only the last 60 orders, to keep the test fast.
    after = truth[-60].purchased_at if size == 1 else datetime(2020, 1, 1, tzinfo=UTC)
    params = {"createdAfter": iso(after)}
    seen = _walk(client, headers, params, size)
    ids = [o["orderId"] for o in seen]
    expected = [o.order_id for o in truth if o.purchased_at >= after]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(expected)
    created = [o["createdTime"] for o in seen]
    assert created == sorted(created)


def test_last_updated_walk_is_sorted_by_last_update(client, headers):
    truth = client.app.state.simulator.orders_for(HEALTHY)
    after = sorted(o.last_updated_at for o in truth)[-150]
    seen = _walk(client, headers, {"lastUpdatedAfter": iso(after)}, 40)
    assert [o["lastUpdatedTime"] for o in seen] == sorted(o["lastUpdatedTime"] for o in seen)
    assert {o["orderId"] for o in seen} == {o.order_id for o in truth if o.last_updated_at >= after}


def test_filters_match_ground_truth(client, headers):
    truth = client.app.state.simulator.orders_for(HEALTHY)
    params = {
        "createdAfter": "2025-01-01T00:00:00Z",
        "fulfilledBy": "MERCHANT",
        "fulfillmentStatuses": "CANCELLED",
        "includedData": "FULFILLMENT,CANCELLATION",
    }
    seen = _walk(client, headers, params, 100)
    expected = {o.order_id for o in truth if o.is_mfn and o.status == "cancelled"}
    assert {o["orderId"] for o in seen} == expected
    for order in seen:
        assert order["fulfillment"]["fulfillmentStatus"] == "CANCELLED"
        execution = order["orderItems"][0]["cancellation"]["cancellationExecution"]
        assert execution["cancelledBy"] in {"BUYER", "MERCHANT", "AMAZON"}


def test_rendered_orders_carry_the_ground_truth(client, headers):
    sim = client.app.state.simulator
    truth = {o.order_id: o for o in sim.orders_for(HEALTHY)}
    params = {
        "createdAfter": "2025-01-01T00:00:00Z",
        "includedData": "FULFILLMENT,PACKAGES,BUYER,PROCEEDS",
    }
    seen = _walk(client, headers, params, 100)
    checked_packages = 0
    for order in seen:
        o = truth[order["orderId"]]
        assert order["createdTime"] == iso(o.purchased_at)
        assert order["lastUpdatedTime"] == iso(o.last_updated_at)
        fulfillment = order["fulfillment"]
        assert fulfillment["fulfilledBy"] == ("MERCHANT" if o.is_mfn else "AMAZON")
        assert fulfillment["shipByWindow"]["latestDateTime"] == iso(o.ship_by)
        if o.status not in ("pending", "cancelled"):
            assert order["proceeds"]["grandTotal"] == {
                "amount": str(o.total),
                "currencyCode": "USD",
            }
            assert fulfillment["deliverByWindow"]["latestDateTime"] == iso(o.deliver_by)
        if o.is_mfn and o.shipped_at is not None:
            (package,) = order["packages"]
            assert package["shipTime"] == iso(o.shipped_at)
            assert package.get("trackingNumber") == o.tracking_id
            assert (package["packageStatus"]["status"] == "DELIVERED") == (
                o.delivered_at is not None
            )
            checked_packages += 1
        else:
            assert "packages" not in order
        assert ("buyerEmail" in order["buyer"]) == o.is_mfn
    assert checked_packages > 100


def test_v0_walk_uses_next_token_alone(client, headers):
    truth = client.app.state.simulator.orders_for(HEALTHY)
    params = {
        "CreatedAfter": "2025-01-01T00:00:00Z",
        "MarketplaceIds": "ATVPDKIKX0DER",
        "FulfillmentChannels": "MFN",
        "MaxResultsPerPage": "50",
    }
    seen = []
    while True:
        body = client.get(V0, params=params, headers=headers).json()["payload"]
        seen.extend(body["Orders"])
        assert body["CreatedBefore"].endswith("Z")
        if "NextToken" not in body:
            break
        # Other criteria are ignored when NextToken is present; only MarketplaceIds is repeated.
        params = {
            "NextToken": body["NextToken"],
            "MarketplaceIds": "ATVPDKIKX0DER",
            "FulfillmentChannels": "AFN",
        }
    ids = [o["AmazonOrderId"] for o in seen]
    assert len(ids) == len(set(ids))
    assert set(ids) == {o.order_id for o in truth if o.is_mfn}
    by_id = {o.order_id: o for o in truth}
    for order in seen:
        o = by_id[order["AmazonOrderId"]]
        assert order["LatestShipDate"] == iso(o.ship_by)
        assert ("OrderTotal" in order) == (o.status not in ("pending", "cancelled"))
        if "OrderTotal" in order:
            assert order["OrderTotal"] == {"CurrencyCode": "USD", "Amount": str(o.total)}


def test_v0_afn_orders_have_no_ship_dates(client):
    headers = token_for(client, TROUBLED)
    body = client.get(
        V0,
        params={
            "LastUpdatedAfter": "2026-09-01T00:00:00Z",
            "MarketplaceIds": "A1PA6795UKMFR9",
            "FulfillmentChannels": "AFN",
        },
        headers=headers,
    ).json()["payload"]
    assert body["Orders"]
    assert "LastUpdatedBefore" in body
    for order in body["Orders"]:
        assert order["FulfillmentChannel"] == "AFN"
        assert "LatestShipDate" not in order and "LatestDeliveryDate" not in order
        assert order["OrderTotal"]["CurrencyCode"] == "EUR" if "OrderTotal" in order else True


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"createdAfter": "2026-01-01T00:00:00Z", "lastUpdatedAfter": "2026-01-01T00:00:00Z"},
        {"createdAfter": "2026-01-01T00:00:00Z", "lastUpdatedBefore": "2026-02-01T00:00:00Z"},
        {"lastUpdatedAfter": "2026-01-01T00:00:00Z", "createdBefore": "2026-02-01T00:00:00Z"},
        {"createdAfter": "2026-01-01T00:00:00Z", "createdBefore": "2026-11-20T11:59:00Z"},
        {"createdAfter": "2026-02-01T00:00:00Z", "createdBefore": "2026-01-01T00:00:00Z"},
        {"createdAfter": "2026-11-20T11:59:30Z"},
        {"createdAfter": "yesterday"},
        {"createdAfter": "2026-01-01T00:00:00Z", "maxResultsPerPage": "0"},
        {"createdAfter": "2026-01-01T00:00:00Z", "maxResultsPerPage": "101"},
        {"createdAfter": "2026-01-01T00:00:00Z", "maxResultsPerPage": "ten"},
        {"createdAfter": "2026-01-01T00:00:00Z", "fulfilledBy": "SELLER"},
        {"createdAfter": "2026-01-01T00:00:00Z", "fulfillmentStatuses": "Shipped"},
        {"createdAfter": "2026-01-01T00:00:00Z", "includedData": "EVERYTHING"},
        {"createdAfter": "2026-01-01T00:00:00Z", "marketplaceIds": "A1PA6795UKMFR9"},
        {"createdAfter": "2026-01-01T00:00:00Z", "paginationToken": "not-a-token"},
    ],
)
def test_search_orders_rejects_bad_parameters(client, headers, params):
    answer = client.get(SEARCH, params=params, headers=headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["code"] == "InvalidInput"
    assert answer.headers["x-amzn-ratelimit-limit"]


def test_two_minute_rule_and_default_bound(client, headers):
    ok = client.get(
        SEARCH,
        params={"createdAfter": "2026-11-01T00:00:00Z", "createdBefore": "2026-11-20T11:58:00Z"},
        headers=headers,
    )
    assert ok.status_code == 200
    default = client.get(SEARCH, params={"createdAfter": "2026-11-01T00:00:00Z"}, headers=headers)
    assert default.json()["createdBefore"] == "2026-11-20T11:58:00Z"


def test_tampered_or_mismatched_tokens_are_rejected(client, headers, clock):
    params = {"createdAfter": "2025-01-01T00:00:00Z", "maxResultsPerPage": 10}
    token = client.get(SEARCH, params=params, headers=headers).json()["pagination"]["nextToken"]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    for bad in (flipped, token[:-1], token + "x"):
        answer = client.get(SEARCH, params=dict(params, paginationToken=bad), headers=headers)
        assert answer.status_code == 400, bad
    changed = dict(params, fulfilledBy="AMAZON", paginationToken=token)
    assert client.get(SEARCH, params=changed, headers=headers).status_code == 400
    resized = dict(params, maxResultsPerPage=5, includedData="BUYER", paginationToken=token)
    assert client.get(SEARCH, params=resized, headers=headers).status_code == 200
    other_seller = token_for(client, TROUBLED)
    assert (
        client.get(
            SEARCH, params=dict(params, paginationToken=token), headers=other_seller
        ).status_code
        == 400
    )
    v0_answer = client.get(
        V0, params={"NextToken": token, "MarketplaceIds": "ATVPDKIKX0DER"}, headers=headers
    )
    assert v0_answer.status_code == 400
    clock.advance(24 * 3600 + 1)
    fresh = token_for(client)
    expired = client.get(SEARCH, params=dict(params, paginationToken=token), headers=fresh)
    assert expired.status_code == 400
    assert "expired" in expired.json()["errors"][0]["details"]


def test_v0_parameter_rules(client, headers):
    base = {"CreatedAfter": "2026-01-01T00:00:00Z", "MarketplaceIds": "ATVPDKIKX0DER"}
    assert client.get(V0, params=base, headers=headers).status_code == 200
    for bad in (
        {"CreatedAfter": "2026-01-01T00:00:00Z"},
        {"MarketplaceIds": "ATVPDKIKX0DER"},
        dict(base, LastUpdatedAfter="2026-01-01T00:00:00Z"),
        dict(base, CreatedBefore="2026-11-20T11:59:00Z"),
        dict(base, OrderStatuses="SHIPPED"),
        dict(base, FulfillmentChannels="FBA"),
        dict(base, MaxResultsPerPage="500"),
        dict(base, MarketplaceIds="ATVPDKIKX0DER,A1F83G8C2ARO7P"),
        dict(base, NextToken="garbage"),
    ):
        answer = client.get(V0, params=bad, headers=headers)
        assert answer.status_code == 400, bad
        assert answer.json()["errors"][0]["code"] == "InvalidInput"


def test_v0_status_filter(client, headers):
    truth = client.app.state.simulator.orders_for(HEALTHY)
    body = client.get(
        V0,
        params={
            "CreatedAfter": "2025-01-01T00:00:00Z",
            "MarketplaceIds": "ATVPDKIKX0DER",
            "OrderStatuses": "Canceled,Unshipped",
        },
        headers=headers,
    ).json()["payload"]
    expected = {o.order_id for o in truth if o.status in ("cancelled", "unshipped")}
    assert {o["AmazonOrderId"] for o in body["Orders"]} == expected


def test_unknown_paths_answer_error_list(client, headers):
    answer = client.get("/orders/v1/orders", headers=headers)
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "NotFound"
    assert "x-amzn-requestid" in answer.headers
