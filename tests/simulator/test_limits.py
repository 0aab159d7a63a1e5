"""Usage plans: token buckets per seller and operation, the 429 body, and the headers."""

from __future__ import annotations

import pytest

from seller_health.simulator.limits import USAGE_PLANS, RateLimiter, header_value
from tests.simulator.conftest import HEALTHY, TROUBLED, make_client, make_config, token_for

SEARCH = "/orders/2026-01-01/orders"
QUERY = {"createdAfter": "2026-11-19T00:00:00Z"}
QUOTA_BODY = {
    "errors": [
        {
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.",
            "details": "",
        }
    ]
}


def test_documented_usage_plans():
    assert USAGE_PLANS["searchOrders"].rate == 0.0056 and USAGE_PLANS["searchOrders"].burst == 20
    assert USAGE_PLANS["getOrders"].rate == 0.0167 and USAGE_PLANS["getOrders"].burst == 20
    assert (USAGE_PLANS["createReport"].rate, USAGE_PLANS["createReport"].burst) == (0.0167, 15)
    assert (USAGE_PLANS["getReport"].rate, USAGE_PLANS["getReport"].burst) == (2.0, 15)
    assert (USAGE_PLANS["getReportDocument"].rate, USAGE_PLANS["getReportDocument"].burst) == (
        0.0167,
        15,
    )


def test_burst_then_quota_exceeded_then_refill(clock):
    with make_client(make_config(clock)) as client:
        headers = token_for(client)
        for _ in range(20):
            answer = client.get(SEARCH, params=QUERY, headers=headers)
            assert answer.status_code == 200
            assert answer.headers["x-amzn-ratelimit-limit"] == "0.0056"
            assert answer.headers["x-amzn-requestid"]
        throttled = client.get(SEARCH, params=QUERY, headers=headers)
        assert throttled.status_code == 429
        assert throttled.json() == QUOTA_BODY
        assert "x-amzn-ratelimit-limit" not in throttled.headers
        assert "retry-after" not in throttled.headers
        assert throttled.headers["x-amzn-requestid"]
        # Other sellers and other operations have their own buckets.
        assert (
            client.get(SEARCH, params=QUERY, headers=token_for(client, TROUBLED)).status_code == 200
        )
        v0 = client.get(
            "/orders/v0/orders",
            params={"CreatedAfter": "2026-11-19T00:00:00Z", "MarketplaceIds": "ATVPDKIKX0DER"},
            headers=headers,
        )
        assert v0.status_code == 200
        assert v0.headers["x-amzn-ratelimit-limit"] == "0.0167"
        clock.advance(1 / 0.0056 - 1)
        assert client.get(SEARCH, params=QUERY, headers=headers).status_code == 429
        clock.advance(1)
        assert client.get(SEARCH, params=QUERY, headers=headers).status_code == 200
        assert client.get(SEARCH, params=QUERY, headers=headers).status_code == 429
        codes = [c.status for c in client.app.state.simulator.calls("searchOrders")]
        assert codes.count(429) == 3


def test_errors_still_spend_quota_and_carry_the_header(clock):
    with make_client(make_config(clock)) as client:
        headers = token_for(client)
        for _ in range(20):
            answer = client.get(SEARCH, params={}, headers=headers)
            assert answer.status_code == 400
            assert answer.headers["x-amzn-ratelimit-limit"] == "0.0056"
        assert client.get(SEARCH, params=QUERY, headers=headers).status_code == 429


def test_rate_scale_multiplies_rate_and_burst(clock):
    with make_client(make_config(clock, rate_scale=10.0)) as client:
        headers = token_for(client)
        codes = [client.get(SEARCH, params=QUERY, headers=headers).status_code for _ in range(201)]
        assert codes[:200] == [200] * 200 and codes[200] == 429
        clock.advance(1 / 0.056)
        answer = client.get(SEARCH, params=QUERY, headers=headers)
        assert answer.status_code == 200
        assert answer.headers["x-amzn-ratelimit-limit"] == "0.056"


def test_retry_after_only_when_asked(clock):
    with make_client(make_config(clock, send_retry_after=True)) as client:
        headers = token_for(client)
        for _ in range(20):
            client.get(SEARCH, params=QUERY, headers=headers)
        throttled = client.get(SEARCH, params=QUERY, headers=headers)
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) == 179  # ceil(1 / 0.0056)


def test_header_on_200_202_400_404_only(client, headers):
    ok = client.post(
        "/reports/2021-06-30/reports",
        json={
            "reportType": "GET_V2_SELLER_PERFORMANCE_REPORT",
            "marketplaceIds": ["ATVPDKIKX0DER"],
        },
        headers=headers,
    )
    assert ok.status_code == 202 and "x-amzn-ratelimit-limit" in ok.headers
    missing = client.get("/reports/2021-06-30/reports/404", headers=headers)
    assert missing.status_code == 404 and "x-amzn-ratelimit-limit" in missing.headers
    denied = client.get("/reports/2021-06-30/reports/404")
    assert denied.status_code == 403 and "x-amzn-ratelimit-limit" not in denied.headers


@pytest.mark.parametrize(("rate", "text"), [(0.0056, "0.0056"), (2, "2.0"), (0.0056 * 100, "0.56")])
def test_header_value_is_clean(rate, text):
    assert header_value(rate) == text


def test_limiter_buckets_are_per_account_and_operation(clock):
    limiter = RateLimiter(1.0)
    now = clock()
    assert all(limiter.acquire(HEALTHY, "getReport", now) == 0 for _ in range(15))
    wait = limiter.acquire(HEALTHY, "getReport", now)
    assert wait == pytest.approx(0.5)
    assert limiter.acquire(TROUBLED, "getReport", now) == 0
    assert limiter.acquire(HEALTHY, "createReport", now) == 0
