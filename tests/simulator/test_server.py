"""``run_in_thread`` with a real socket, and the ``python -m`` entry point's parsing."""

from __future__ import annotations

import argparse

import httpx
import pytest

from seller_health.simulator import SimulatorConfig, run_in_thread
from seller_health.simulator.__main__ import build_parser, parse_account
from tests.simulator.conftest import CLIENT_ID, CLIENT_SECRET, HEALTHY, Clock, make_config


def test_run_in_thread_serves_a_plain_httpx_client():
    base_url, stop = run_in_thread(make_config(Clock(), rate_scale=1000.0))
    try:
        assert base_url.startswith("http://127.0.0.1:")
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
            headers = {"x-amz-access-token": token}
            answer = http.get(
                "/orders/2026-01-01/orders",
                params={"createdAfter": "2026-11-01T00:00:00Z"},
                headers=headers,
            )
            assert answer.status_code == 200
            assert answer.headers["x-amzn-RateLimit-Limit"] == "5.6"
            truth = {o.order_id for o in stop.simulator.orders_for(HEALTHY)}
            assert {o["orderId"] for o in answer.json()["orders"]} <= truth
            report = http.post(
                "/reports/2021-06-30/reports",
                json={
                    "reportType": "GET_V2_SELLER_PERFORMANCE_REPORT",
                    "marketplaceIds": ["ATVPDKIKX0DER"],
                },
                headers=headers,
            ).json()
            for _ in range(3):
                state = http.get(
                    f"/reports/2021-06-30/reports/{report['reportId']}", headers=headers
                ).json()
            document = http.get(
                f"/reports/2021-06-30/documents/{state['reportDocumentId']}", headers=headers
            ).json()
            assert document["url"].startswith(base_url + "/documents-download/")
            assert http.get(document["url"]).status_code == 200
    finally:
        stop()
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=1.0) as http:
        http.get(base_url + "/orders/v0/orders")


def test_two_servers_get_distinct_ports():
    one_url, stop_one = run_in_thread(make_config(Clock()))
    two_url, stop_two = run_in_thread(make_config(Clock()))
    try:
        assert one_url != two_url
    finally:
        stop_one()
        stop_two()


def test_cli_parsing():
    args = build_parser().parse_args(
        ["--port", "0", "--account", "Atzr|a:A1PA6795UKMFR9:50:trouble", "--throttle", "0.1"]
    )
    assert args.account[0].in_trouble and args.account[0].region == "EU"
    assert args.throttle == 0.1
    with pytest.raises(argparse.ArgumentTypeError):
        parse_account("Atzr|a:NOPE:50")
    with pytest.raises(argparse.ArgumentTypeError):
        parse_account("just-a-token")


def test_config_validation():
    with pytest.raises(ValueError):
        SimulatorConfig(rate_scale=0)
    with pytest.raises(ValueError):
        SimulatorConfig(report_outcomes={"X": "MAYBE"})
