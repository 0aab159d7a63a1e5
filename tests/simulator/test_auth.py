"""LWA token exchange and the ``x-amz-access-token`` check."""

from __future__ import annotations

from tests.simulator.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    HEALTHY,
    TROUBLED,
    make_client,
    make_config,
    token_for,
)

SEARCH = "/orders/2026-01-01/orders"
QUERY = {"createdAfter": "2026-11-01T00:00:00Z"}


def _form(**overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": HEALTHY,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    form.update(overrides)
    return form


def test_refresh_token_grant_returns_lwa_fields(client):
    answer = client.post("/auth/o2/token", data=_form())
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["access_token"].startswith("Atza|")
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"] == HEALTHY
    assert "x-amzn-requestid" in answer.headers


def test_unknown_refresh_token_is_invalid_grant(client):
    answer = client.post("/auth/o2/token", data=_form(refresh_token="Atzr|nobody"))
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert answer.json()["error_description"]


def test_bad_client_is_invalid_client(client):
    answer = client.post("/auth/o2/token", data=_form(client_secret="wrong"))
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_malformed_token_requests(client):
    assert client.post("/auth/o2/token", data=_form(grant_type="password")).json()["error"] == (
        "unsupported_grant_type"
    )
    missing = client.post("/auth/o2/token", data=_form(refresh_token=""))
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    as_json = client.post("/auth/o2/token", json=_form())
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")


def test_missing_or_unknown_access_token_is_403_unauthorized(client):
    for headers in ({}, {"x-amz-access-token": "Atza|forged"}):
        answer = client.get(SEARCH, params=QUERY, headers=headers)
        assert answer.status_code == 403
        error = answer.json()["errors"][0]
        assert error["code"] == "Unauthorized"
        assert error["message"] == "Access to requested resource is denied."
        assert "x-amzn-ratelimit-limit" not in answer.headers
        assert "x-amzn-requestid" in answer.headers


def test_bearer_authorization_header_is_not_enough(client, headers):
    token = headers["x-amz-access-token"]
    answer = client.get(SEARCH, params=QUERY, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403


def test_access_token_expires_on_the_clock(clock):
    with make_client(make_config(clock, token_lifetime=60, rate_scale=100.0)) as client:
        headers = token_for(client)
        assert client.get(SEARCH, params=QUERY, headers=headers).status_code == 200
        clock.advance(59)
        assert client.get(SEARCH, params=QUERY, headers=headers).status_code == 200
        clock.advance(1)
        expired = client.get(SEARCH, params=QUERY, headers=headers)
        assert expired.status_code == 403
        error = expired.json()["errors"][0]
        assert error["code"] == "Unauthorized"
        assert "expired" in error["message"]
        fresh = token_for(client)
        assert fresh != headers
        assert client.get(SEARCH, params=QUERY, headers=fresh).status_code == 200


def test_expire_tokens_and_revoke(client):
    sim = client.app.state.simulator
    headers = token_for(client)
    sim.expire_tokens()
    assert (
        "expired"
        in client.get(SEARCH, params=QUERY, headers=headers).json()["errors"][0]["message"]
    )
    headers = token_for(client)
    sim.revoke(HEALTHY)
    assert client.get(SEARCH, params=QUERY, headers=headers).status_code == 403
    answer = client.post("/auth/o2/token", data=_form())
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    token_for(client, TROUBLED)  # other sellers are unaffected


def test_tokens_identify_their_seller(client):
    healthy = token_for(client, HEALTHY)
    troubled = token_for(client, TROUBLED)
    one = client.get(SEARCH, params=QUERY, headers=healthy).json()["orders"]
    two = client.get(SEARCH, params=QUERY, headers=troubled).json()["orders"]
    assert {o["salesChannel"]["marketplaceId"] for o in one} == {"ATVPDKIKX0DER"}
    assert {o["salesChannel"]["marketplaceId"] for o in two} == {"A1PA6795UKMFR9"}
