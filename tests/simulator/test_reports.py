"""Reports API lifecycle, documents, and their consistency with the seeded data."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import pytest

from seller_health.simulator import FaultConfig, ReportTiming
from seller_health.simulator.health import window
from seller_health.simulator.reports import FEEDBACK_COLUMNS
from seller_health.simulator.responses import iso
from tests.simulator.conftest import HEALTHY, TROUBLED, make_client, make_config, token_for

REPORTS = "/reports/2021-06-30/reports"
PERFORMANCE = "GET_V2_SELLER_PERFORMANCE_REPORT"
FEEDBACK = "GET_SELLER_FEEDBACK_DATA"


def _create(client, headers, report_type, marketplace="ATVPDKIKX0DER", **extra):
    body = {"reportType": report_type, "marketplaceIds": [marketplace], **extra}
    answer = client.post(REPORTS, json=body, headers=headers)
    assert answer.status_code == 202, answer.text
    return answer.json()["reportId"]


def _poll(client, headers, report_id, limit=20):
    states = []
    for _ in range(limit):
        report = client.get(f"{REPORTS}/{report_id}", headers=headers).json()
        states.append(report["processingStatus"])
        if report["processingStatus"] in ("DONE", "FATAL", "CANCELLED"):
            return states, report
    raise AssertionError(f"report never finished: {states}")


def _download(client, headers, document_id, **params):
    meta = client.get(
        f"/reports/2021-06-30/documents/{document_id}", params=params, headers=headers
    )
    assert meta.status_code == 200, meta.text
    assert meta.json()["compressionAlgorithm"] == "GZIP"
    return client.get(meta.json()["url"])  # pre-signed: no access token


def test_lifecycle_by_polls(client, headers):
    report_id = _create(client, headers, PERFORMANCE)
    states, report = _poll(client, headers, report_id)
    assert states == ["IN_QUEUE", "IN_PROGRESS", "DONE"]
    assert report["processingStartTime"] <= report["processingEndTime"]
    assert report["reportDocumentId"].startswith("amzn1.spdoc.")
    assert report["marketplaceIds"] == ["ATVPDKIKX0DER"]


def test_lifecycle_by_time(clock):
    timing = ReportTiming(
        polls_in_queue=0, polls_in_progress=0, seconds_in_queue=30, seconds_in_progress=60
    )
    with make_client(make_config(clock, report_timing=timing, rate_scale=100.0)) as client:
        headers = token_for(client)
        report_id = _create(client, headers, PERFORMANCE)
        status = lambda: client.get(f"{REPORTS}/{report_id}", headers=headers).json()  # noqa: E731
        assert status()["processingStatus"] == "IN_QUEUE"
        clock.advance(30)
        assert status()["processingStatus"] == "IN_PROGRESS"
        clock.advance(59)
        assert status()["processingStatus"] == "IN_PROGRESS"
        clock.advance(1)
        assert status()["processingStatus"] == "DONE"


def test_performance_document_is_gzip_json_matching_ground_truth(client, headers, clock):
    sim = client.app.state.simulator
    report_id = _create(client, headers, PERFORMANCE)
    _, report = _poll(client, headers, report_id)
    raw = _download(client, headers, report["reportDocumentId"])
    assert raw.status_code == 200
    assert "content-encoding" not in raw.headers
    document = json.loads(gzip.decompress(raw.content))
    assert document == sim.performance_report(HEALTHY, clock())

    # Recompute the late-shipment figure straight from the orders.
    metrics = document["performanceMetrics"][0]
    lsr_window = window(clock().date(), 30)
    in_window = [
        o
        for o in sim.orders_for(HEALTHY)
        if o.is_mfn and o.status not in ("cancelled", "pending") and lsr_window.contains(o.ship_by)
    ]
    late = [o for o in in_window if o.shipped_at is None or o.shipped_at > o.ship_by]
    assert metrics["lateShipmentRate"]["orderCount"] == len(in_window)
    assert metrics["lateShipmentRate"]["lateShipmentCount"] == len(late)
    assert metrics["lateShipmentRate"]["reportingDateRange"]["reportingDateTo"].endswith("T23:59Z")


def test_healthy_and_troubled_accounts_differ(client):
    sim = client.app.state.simulator
    healthy = sim.performance_report(HEALTHY)
    troubled = sim.performance_report(TROUBLED)
    assert healthy["accountStatuses"][0]["status"] == "NORMAL"
    assert troubled["accountStatuses"][0]["status"] == "AT_RISK"
    good = healthy["performanceMetrics"][0]
    bad = troubled["performanceMetrics"][0]
    for name in ("lateShipmentRate", "preFulfillmentCancellationRate", "validTrackingRate"):
        assert good[name]["status"] in ("GOOD", "NONE"), name
    for kind in ("mfn", "afn"):
        assert good["orderDefectRate"][kind]["status"] in ("GOOD", "NONE")
    assert bad["lateShipmentRate"]["status"] == "BAD"
    assert bad["orderDefectRate"]["mfn"]["status"] == "BAD"
    assert bad["lateShipmentRate"]["rate"] > good["lateShipmentRate"]["rate"]
    assert good["accountHealthRating"]["ahrStatus"] == "GREAT"
    assert bad["accountHealthRating"]["ahrStatus"] == "WARNED"


def test_content_encoding_header_when_requested(client, headers):
    _, report = _poll(client, headers, _create(client, headers, PERFORMANCE))
    raw = _download(
        client, headers, report["reportDocumentId"], enableContentEncodingUrlHeader="true"
    )
    assert raw.headers["content-encoding"] == "gzip"
    assert json.loads(raw.content)["performanceMetrics"]  # httpx decoded it


def test_feedback_report_is_tab_separated_with_amazon_headings(clock):
    with make_client(make_config(clock, rate_scale=100.0)) as client:
        headers = token_for(client, TROUBLED)
        start = clock() - timedelta(days=365)
        report_id = _create(
            client,
            headers,
            FEEDBACK,
            "A1PA6795UKMFR9",
            dataStartTime=iso(start),
            dataEndTime=iso(clock()),
        )
        _, report = _poll(client, headers, report_id)
        assert report["processingStatus"] == "DONE"
        text = gzip.decompress(_download(client, headers, report["reportDocumentId"]).content)
        lines = text.decode("utf-8").splitlines()
        assert lines[0].split("\t") == list(FEEDBACK_COLUMNS)
        assert lines[0] == "Date\tRating\tComments\tYour Response\tOrder ID\tRater Email"
        rows = [line.split("\t") for line in lines[1:]]
        truth = [
            e
            for e in client.app.state.simulator.events_for(TROUBLED)
            if e.kind == "feedback" and e.rating <= 3 and e.occurred_at >= start
        ]
        assert len(rows) == len(truth) > 0
        assert {r[4] for r in rows} == {e.order_id for e in truth}
        assert all(1 <= int(r[1]) <= 3 for r in rows)
        assert all(len(r) == 6 for r in rows)
        day, month, year = rows[0][0].split("/")  # DD/MM/YY in the EU
        assert len(year) == 2 and 1 <= int(month) <= 12


def test_feedback_report_without_dates_is_cancelled_for_lack_of_data(client, headers):
    _, report = _poll(client, headers, _create(client, headers, FEEDBACK))
    assert report["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in report


def test_forced_fatal_has_an_error_document(clock):
    config = make_config(clock, report_outcomes={PERFORMANCE: "FATAL"}, rate_scale=100.0)
    with make_client(config) as client:
        headers = token_for(client)
        _, report = _poll(client, headers, _create(client, headers, PERFORMANCE))
        assert report["processingStatus"] == "FATAL"
        raw = _download(client, headers, report["reportDocumentId"])
        assert "errorDetails" in json.loads(gzip.decompress(raw.content))


def test_seeded_report_outcomes(clock):
    faults = FaultConfig(report_fatal=0.3, report_cancelled=0.3)
    outcomes = []
    for _ in range(2):
        with make_client(make_config(clock, faults=faults, rate_scale=100.0)) as client:
            headers = token_for(client)
            run = [
                _poll(client, headers, _create(client, headers, PERFORMANCE))[1]["processingStatus"]
                for _ in range(10)
            ]
            outcomes.append(run)
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {"DONE", "FATAL", "CANCELLED"}


def test_cancel_report_only_in_queue(client, headers):
    queued = _create(client, headers, PERFORMANCE)
    assert client.delete(f"{REPORTS}/{queued}", headers=headers).status_code == 200
    assert client.get(f"{REPORTS}/{queued}", headers=headers).json()["processingStatus"] == (
        "CANCELLED"
    )
    running = _create(client, headers, PERFORMANCE)
    client.get(f"{REPORTS}/{running}", headers=headers)
    client.get(f"{REPORTS}/{running}", headers=headers)  # now IN_PROGRESS
    assert client.delete(f"{REPORTS}/{running}", headers=headers).status_code == 400


def test_reports_belong_to_their_seller(client, headers):
    report_id = _create(client, headers, PERFORMANCE)
    other = token_for(client, TROUBLED)
    assert client.get(f"{REPORTS}/{report_id}", headers=other).status_code == 404
    _, report = _poll(client, headers, report_id)
    meta = client.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}", headers=other)
    assert meta.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"reportType": "GET_V2_SELLER_PERFORMANCE_REPORT"},
        {"marketplaceIds": ["ATVPDKIKX0DER"]},
        {"reportType": "GET_FLAT_FILE_OPEN_LISTINGS_DATA", "marketplaceIds": ["ATVPDKIKX0DER"]},
        {"reportType": PERFORMANCE, "marketplaceIds": []},
        {"reportType": PERFORMANCE, "marketplaceIds": ["A1PA6795UKMFR9"]},
        {
            "reportType": PERFORMANCE,
            "marketplaceIds": ["ATVPDKIKX0DER"],
            "dataStartTime": "2030-01-01T00:00:00Z",
        },
        {
            "reportType": PERFORMANCE,
            "marketplaceIds": ["ATVPDKIKX0DER"],
            "dataStartTime": "2026-02-01T00:00:00Z",
            "dataEndTime": "2026-01-01T00:00:00Z",
        },
        ["not", "an", "object"],
    ],
)
def test_create_report_validation(client, headers, body):
    answer = client.post(REPORTS, json=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "InvalidInput"


def test_presigned_url_expires_and_resists_tampering(client, headers, clock):
    _, report = _poll(client, headers, _create(client, headers, PERFORMANCE))
    meta = client.get(
        f"/reports/2021-06-30/documents/{report['reportDocumentId']}", headers=headers
    ).json()
    url = meta["url"]
    tampered = url.replace("X-Amz-Expires=300", "X-Amz-Expires=3000")
    assert client.get(tampered).status_code == 403
    clock.advance(301)
    expired = client.get(url)
    assert expired.status_code == 403
    assert b"Request has expired" in expired.content
