"""Every answer the simulator gives is valid against Amazon's own models (closed objects)."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from seller_health.simulator import FaultConfig
from tests.simulator.conftest import (
    HEALTHY,
    TROUBLED,
    SchemaCheck,
    make_client,
    make_config,
    token_for,
)

V2026 = "orders_2026-01-01.json"
V0 = "ordersV0.json"
REPORTS = "reports_2021-06-30.json"
HEALTH = "accountHealthReport-2020-11-18.json"
ALL_DATA = (
    "BUYER,RECIPIENT,PROCEEDS,EXPENSE,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES,TAX,PAYMENT"
)


def _walk_2026(client, headers, params):
    pages = []
    token = None
    while True:
        query = dict(params, **({"paginationToken": token} if token else {}))
        answer = client.get("/orders/2026-01-01/orders", params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        token = answer.json().get("pagination", {}).get("nextToken")
        if not token:
            return pages


@pytest.mark.parametrize("included", ["", "FULFILLMENT", "FULFILLMENT,PACKAGES", ALL_DATA])
@pytest.mark.parametrize("account", [HEALTHY, TROUBLED])
def test_search_orders_pages_match_search_orders_response(
    client, schema_check: SchemaCheck, included, account
):
    headers = token_for(client, account)
    params = {"createdAfter": "2025-01-01T00:00:00Z", "maxResultsPerPage": 100}
    if included:
        params["includedData"] = included
    pages = _walk_2026(client, headers, params)
    assert len(pages) > 2
    for page in pages:
        schema_check(V2026, "SearchOrdersResponse", page)
    orders = [o for page in pages for o in page["orders"]]
    if "PACKAGES" in included:
        assert any("packages" in o for o in orders)
    if "FULFILLMENT" in included:
        assert {o["fulfillment"]["fulfilledBy"] for o in orders} == {"MERCHANT", "AMAZON"}
    else:
        assert not any("fulfillment" in o for o in orders)


def test_search_by_last_update_and_get_order(client, headers, schema_check: SchemaCheck):
    pages = _walk_2026(
        client,
        headers,
        {"lastUpdatedAfter": "2026-10-01T00:00:00Z", "includedData": ALL_DATA},
    )
    for page in pages:
        schema_check(V2026, "SearchOrdersResponse", page)
        assert "lastUpdatedBefore" in page
    order_id = pages[0]["orders"][0]["orderId"]
    answer = client.get(
        f"/orders/2026-01-01/orders/{order_id}", params={"includedData": ALL_DATA}, headers=headers
    )
    assert answer.status_code == 200
    schema_check(V2026, "GetOrderResponse", answer.json())
    missing = client.get("/orders/2026-01-01/orders/111-0000000-0000000", headers=headers)
    assert missing.status_code == 404
    schema_check(V2026, "ErrorList", missing.json())


def test_get_orders_v0_matches_get_orders_response(client, schema_check: SchemaCheck):
    for account, marketplace in ((HEALTHY, "ATVPDKIKX0DER"), (TROUBLED, "A1PA6795UKMFR9")):
        headers = token_for(client, account)
        params = {"CreatedAfter": "2025-01-01T00:00:00Z", "MarketplaceIds": marketplace}
        statuses = set()
        while True:
            answer = client.get("/orders/v0/orders", params=params, headers=headers)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            schema_check(V0, "GetOrdersResponse", body)
            statuses |= {o["OrderStatus"] for o in body["payload"]["Orders"]}
            if "NextToken" not in body["payload"]:
                break
            params = {"NextToken": body["payload"]["NextToken"], "MarketplaceIds": marketplace}
        assert {"Shipped", "Canceled"} <= statuses


def test_error_answers_match_error_schemas(client, headers, schema_check: SchemaCheck):
    bad_2026 = client.get("/orders/2026-01-01/orders", headers=headers)
    assert bad_2026.status_code == 400
    schema_check(V2026, "ErrorList", bad_2026.json())
    bad_v0 = client.get(
        "/orders/v0/orders", params={"MarketplaceIds": "ATVPDKIKX0DER"}, headers=headers
    )
    assert bad_v0.status_code == 400
    schema_check(V0, "GetOrdersResponse", bad_v0.json())
    assert bad_v0.json()["errors"][0]["code"] == "InvalidInput"
    denied = client.get("/orders/v0/orders", params={"MarketplaceIds": "ATVPDKIKX0DER"})
    assert denied.status_code == 403
    schema_check(V0, "GetOrdersResponse", denied.json())
    schema_check(REPORTS, "ErrorList", client.get("/reports/2021-06-30/reports/1").json())
    bad_report = client.post(
        "/reports/2021-06-30/reports", json={"reportType": "X"}, headers=headers
    )
    assert bad_report.status_code == 400
    schema_check(REPORTS, "ErrorList", bad_report.json())
    unknown = client.get("/reports/2021-06-30/reports/999", headers=headers)
    assert unknown.status_code == 404
    schema_check(REPORTS, "ErrorList", unknown.json())


def test_fault_answers_match_error_schemas(clock, schema_check: SchemaCheck):
    faults = FaultConfig(server_error=0.4, unavailable=0.3, throttle=0.3)
    with make_client(make_config(clock, faults=faults)) as client:
        headers = token_for(client)
        seen = set()
        for _ in range(12):
            answer = client.get(
                "/orders/2026-01-01/orders",
                params={"createdAfter": "2026-01-01T00:00:00Z"},
                headers=headers,
            )
            seen.add(answer.status_code)
            schema_check(V2026, "ErrorList", answer.json())
            schema_check(V0, "GetOrdersResponse", answer.json())
        assert seen == {429, 500, 503}


def test_reports_flow_matches_reports_model(client, headers, schema_check: SchemaCheck):
    created = client.post(
        "/reports/2021-06-30/reports",
        json={
            "reportType": "GET_V2_SELLER_PERFORMANCE_REPORT",
            "marketplaceIds": ["ATVPDKIKX0DER"],
        },
        headers=headers,
    )
    assert created.status_code == 202
    schema_check(REPORTS, "CreateReportResponse", created.json())
    report_id = created.json()["reportId"]
    states = []
    while not states or states[-1]["processingStatus"] not in ("DONE", "FATAL", "CANCELLED"):
        answer = client.get(f"/reports/2021-06-30/reports/{report_id}", headers=headers)
        assert answer.status_code == 200
        schema_check(REPORTS, "Report", answer.json())
        states.append(answer.json())
    document_id = states[-1]["reportDocumentId"]
    document = client.get(f"/reports/2021-06-30/documents/{document_id}", headers=headers)
    assert document.status_code == 200
    schema_check(REPORTS, "ReportDocument", document.json())
    raw = client.get(document.json()["url"])
    assert raw.status_code == 200
    schema_check(HEALTH, "", json.loads(gzip.decompress(raw.content)))


@pytest.mark.parametrize("account", [HEALTHY, TROUBLED])
def test_performance_report_matches_account_health_schema(client, schema_check, account):
    report = client.app.state.simulator.performance_report(account)
    schema_check(HEALTH, "", report)
    metrics = report["performanceMetrics"][0]
    assert "ahrStatus" in metrics["accountHealthRating"]


def test_model_examples_pass_the_checker(schema_check: SchemaCheck):
    """The checker accepts Amazon's own sandbox answers (guards against a too-strict test)."""
    from tests.simulator.conftest import _load_model

    model = _load_model(V2026)
    static = model["paths"]["/orders/2026-01-01/orders"]["get"]["responses"]["200"]
    for case in static["x-amzn-api-sandbox"]["static"]:
        schema_check(V2026, "SearchOrdersResponse", case["response"])
    with pytest.raises(AssertionError):
        schema_check(V2026, "Money", {"Amount": "1.00", "CurrencyCode": "USD"})  # v0 spelling


def test_lwa_answers_have_the_lwa_shape(client):
    answer = client.post(
        "/auth/o2/token",
        data={"grant_type": "refresh_token", "refresh_token": "nope", "client_id": "x"},
    )
    assert answer.status_code == 401
    assert set(answer.json()) == {"error", "error_description"}
    assert isinstance(answer, httpx.Response)
