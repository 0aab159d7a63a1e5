"""Fault injection: reproducible from the seed, scoped, and visible in the ground truth."""

from __future__ import annotations

import httpx
import pytest

from seller_health.simulator import FaultConfig, run_in_thread
from seller_health.simulator.faults import FaultInjector
from tests.simulator.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    HEALTHY,
    Clock,
    make_client,
    make_config,
    token_for,
)

SEARCH = "/orders/2026-01-01/orders"
QUERY = {"createdAfter": "2026-11-01T00:00:00Z"}
FAULTS = FaultConfig(throttle=0.1, server_error=0.15, unavailable=0.15)


def _statuses(clock, seed: int, calls: int = 40) -> list[int]:
    config = make_config(clock, seed=seed, faults=FAULTS, rate_scale=1000.0)
    with make_client(config) as client:
        headers = token_for(client)
        return [client.get(SEARCH, params=QUERY, headers=headers).status_code for _ in range(calls)]


def test_same_seed_same_faults(clock):
    first = _statuses(clock, seed=3)
    assert first == _statuses(clock, seed=3)
    assert {200, 429, 500, 503} <= set(first)
    assert first != _statuses(clock, seed=4)


def test_faults_follow_the_call_ordinal_not_interleaving():
    one = FaultInjector(5, FAULTS)
    two = FaultInjector(5, FAULTS)
    plain = [one.decide(HEALTHY, "searchOrders").error for _ in range(30)]
    mixed = []
    for _ in range(30):
        two.decide(HEALTHY, "getReport")  # other operations do not shift the sequence
        mixed.append(two.decide(HEALTHY, "searchOrders").error)
    assert [e and e.status for e in plain] == [e and e.status for e in mixed]


def test_faults_can_target_operations(clock):
    faults = FaultConfig(server_error=1.0, operations=frozenset({"getOrders"}))
    with make_client(make_config(clock, faults=faults, rate_scale=1000.0)) as client:
        headers = token_for(client)
        assert client.get(SEARCH, params=QUERY, headers=headers).status_code == 200
        v0 = client.get(
            "/orders/v0/orders",
            params={"CreatedAfter": "2026-11-01T00:00:00Z", "MarketplaceIds": "ATVPDKIKX0DER"},
            headers=headers,
        )
        assert v0.status_code == 500
        assert v0.json()["errors"][0]["code"] == "InternalFailure"


def test_auth_faults_only_when_included(clock):
    faults = FaultConfig(unavailable=1.0, include_auth=True, operations=frozenset({"lwaToken"}))
    with make_client(make_config(clock, faults=faults)) as client:
        answer = client.post(
            "/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": HEALTHY,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        )
        assert answer.status_code == 503
        assert answer.json()["error"] == "server_error"


def test_malformed_orders_are_seeded_and_known(clock):
    base = make_config(clock)
    broken = make_config(clock, faults=FaultConfig(malformed=0.05))
    with make_client(base) as clean_client, make_client(broken) as client:
        clean = clean_client.app.state.simulator.orders_for(HEALTHY)
        truth = client.app.state.simulator.orders_for(HEALTHY)
        again = make_client(broken).app.state.simulator.orders_for(HEALTHY)
        assert [o.malformed for o in truth] == [o.malformed for o in again]
        # Marking orders broken does not change the data itself.
        assert [o.order_id for o in clean] == [o.order_id for o in truth]
        flagged = {o.order_id: o.malformed for o in truth if o.malformed}
        assert flagged
        headers = token_for(client)
        params = {"createdAfter": "2025-01-01T00:00:00Z", "includedData": "FULFILLMENT"}
        seen = {}
        while True:
            page = client.get(SEARCH, params=params, headers=headers).json()
            seen.update({o["orderId"]: o for o in page["orders"] if "orderId" in o})
            token = page.get("pagination", {}).get("nextToken")
            if not token:
                break
            params = dict(params, paginationToken=token)
        for order_id, (kind, field, _v0_field) in flagged.items():
            order = seen[order_id]
            if kind == "missing_field":
                assert field not in order
            else:
                assert order[field].endswith("Z") and "-32T" in order[field]
        intact = [o for oid, o in seen.items() if oid not in flagged]
        assert all("createdTime" in o and "-32T" not in o["createdTime"] for o in intact)


def test_slow_responses_trip_client_timeouts():
    config = make_config(
        Clock(),
        faults=FaultConfig(slow=1.0, slow_seconds=0.6, operations=frozenset({"searchOrders"})),
        rate_scale=1000.0,
    )
    base_url, stop = run_in_thread(config)
    try:
        with httpx.Client(base_url=base_url, timeout=5.0) as http:
            token = http.post(
                "/auth/o2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": HEALTHY,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                },
            ).json()["access_token"]
            with pytest.raises(httpx.ReadTimeout):
                http.get(SEARCH, params=QUERY, headers={"x-amz-access-token": token}, timeout=0.1)
            answer = http.get(SEARCH, params=QUERY, headers={"x-amz-access-token": token})
            assert answer.status_code == 200  # a patient client gets its answer
    finally:
        stop()
