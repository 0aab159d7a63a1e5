"""Amazon Reports API 2021-06-30: the seller performance report and the feedback report.

A report is requested once; its id is kept in the sync bookmark so that polling resumes after a
restart instead of requesting a new report each time (requests are scarce: 0.0167/s). FATAL
and CANCELLED are data states, not crashes.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from seller_health.connectors.base import ApiError, Malformed, Rejected, ReportOutcome
from seller_health.connectors.http import Caller
from seller_health.timeutil import InstantError, format_instant, parse_instant


class AmazonConnector(Protocol):
    """What the reports need of an SP-API connection (``amazon.AmazonConnector``), named here
    so that this module does not import the connector that calls it."""

    marketplace_ids: list[str]
    caller: Caller

    def send(
        self, operation: str, method: str, path: str, *, ok: tuple[int, ...] = ..., **kwargs: Any
    ) -> dict[str, Any]: ...


PERFORMANCE = "GET_V2_SELLER_PERFORMANCE_REPORT"
FEEDBACK = "GET_SELLER_FEEDBACK_DATA"
WAITING = ("IN_QUEUE", "IN_PROGRESS")


def request_report(
    amazon: AmazonConnector, report_type: str, start: datetime | None, end: datetime | None
) -> str:
    body: dict[str, Any] = {"reportType": report_type, "marketplaceIds": amazon.marketplace_ids}
    if start is not None:
        body["dataStartTime"] = format_instant(start)
    if end is not None:
        body["dataEndTime"] = format_instant(end)
    answer = amazon.send(
        "createReport", "POST", "/reports/2021-06-30/reports", json=body, ok=(202, 200)
    )
    report_id = answer.get("reportId")
    if not report_id:
        raise ApiError("createReport answered without a reportId")
    return str(report_id)


def poll_report(
    amazon: AmazonConnector,
    report_id: str,
    *,
    polls: int = 30,
    sleep: Callable[[float], None],
    first_wait: float = 5.0,
    max_wait: float = 120.0,
) -> ReportOutcome:
    """Poll with growing waits until the report settles or ``polls`` run out (still waiting)."""
    wait = first_wait
    for attempt in range(polls):
        report = amazon.send("getReport", "GET", f"/reports/2021-06-30/reports/{report_id}")
        status = report.get("processingStatus", "")
        if status not in WAITING:
            document_id = report.get("reportDocumentId")
            document = download(amazon, document_id) if document_id else None
            return ReportOutcome(report_id, status, document)
        if attempt + 1 < polls:
            sleep(wait)
            wait = min(wait * 2, max_wait)
    return ReportOutcome(report_id, status)


def download(amazon: AmazonConnector, document_id: str) -> bytes:
    meta = amazon.send("getReportDocument", "GET", f"/reports/2021-06-30/documents/{document_id}")
    url = meta.get("url")
    if not url:
        raise ApiError("getReportDocument answered without a url")
    # A pre-signed URL: no access token, and it is not an SP-API operation.
    response = amazon.caller.client.get(url)
    if response.status_code != 200:
        raise ApiError(f"report document download failed: HTTP {response.status_code}")
    content = response.content
    if meta.get("compressionAlgorithm") == "GZIP":
        content = gzip.decompress(content)
    return content


# --- GET_V2_SELLER_PERFORMANCE_REPORT -------------------------------------------------------

# Report metric (either spelling) -> our rule, and where its counts live.
CANCEL = ("amazon.cancellation_rate", "cancellationCount", "orderCount")
PERFORMANCE_METRICS: dict[str, tuple[str, str | None, str | None]] = {
    "orderDefectRate.mfn": ("amazon.order_defect_rate", "orderWithDefects.count", "orderCount"),
    "orderDefectRate.afn": ("amazon.order_defect_rate_fba", "orderWithDefects.count", "orderCount"),
    "lateShipmentRate": ("amazon.late_shipment_rate", "lateShipmentCount", "orderCount"),
    "preFulfillmentCancellationRate": CANCEL,
    "prefulfillmentCancelRate": CANCEL,
    "validTrackingRate": ("amazon.valid_tracking_rate", "validTrackingCount", "shipmentCount"),
    "onTimeDeliveryRate": (
        "amazon.on_time_delivery_rate",
        "onTimeDeliveryCount",
        "shipmentCountWithValidTracking",
    ),
}


def _dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _report_instant(value: Any) -> datetime | None:
    """Report dates come as ``2020-09-06T00:00Z`` (minute precision, UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_instant(value)
    except InstantError:
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
        except ValueError:
            return None


def parse_performance(document: bytes, marketplace_ids: list[str]) -> list[dict[str, Any]]:
    """Official figures per rule for the account's marketplaces (first one found wins)."""
    try:
        report = json.loads(document)
    except ValueError:
        raise Malformed("the performance report is not JSON") from None
    figures: dict[str, dict[str, Any]] = {}
    for metrics in report.get("performanceMetrics") or []:
        if not isinstance(metrics, dict):
            continue
        if metrics.get("marketplaceId") and metrics["marketplaceId"] not in marketplace_ids:
            continue
        for path, (rule_id, numerator, denominator) in PERFORMANCE_METRICS.items():
            metric = _dig(metrics, path)
            if not isinstance(metric, dict) or rule_id in figures:
                continue
            window = metric.get("reportingDateRange") or {}
            figures[rule_id] = {
                "rule_id": rule_id,
                "value": _float(metric.get("rate")),
                "target": _float(metric.get("targetValue")),
                "status": metric.get("status"),
                "numerator": _int(_dig(metric, numerator) if numerator else None),
                "denominator": _int(_dig(metric, denominator) if denominator else None),
                "window_start": _report_instant(window.get("reportingDateFrom")),
                "window_end": _report_instant(window.get("reportingDateTo")),
            }
    return list(figures.values())


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


# --- GET_SELLER_FEEDBACK_DATA ---------------------------------------------------------------

DATE_FORMATS = ("%m/%d/%y", "%m/%d/%Y", "%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y")


def _feedback_date(text: str) -> datetime:
    """The file has a bare date; it becomes midnight UTC of that day (documented approximation)."""
    text = text.strip()
    try:
        return parse_instant(text)
    except InstantError:
        pass
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise Malformed(f"Date: {text!r} is not a date")


def parse_feedback(document: bytes) -> tuple[list[dict[str, Any]], list[Rejected]]:
    """Feedback events (the report holds only 1-3 star feedback) and the rows it could not read."""
    text = document.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    events: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        order_id = row.get("order id", "")
        try:
            if not order_id:
                raise Malformed("Order ID is missing")
            rating = int(row.get("rating", ""))
            if not 1 <= rating <= 5:
                raise Malformed(f"Rating: {rating} is not 1 to 5")
            occurred = _feedback_date(row.get("date", ""))
        except (ValueError, Malformed) as exc:
            reason = str(exc) if isinstance(exc, Malformed) else f"Rating: {row.get('rating')!r}"
            rejected.append(Rejected(f"line-{line}", reason, {"line": line, **row}))
            continue
        events.append(
            {
                "event_id": f"feedback-{order_id}",
                "order_id": order_id,
                "kind": "feedback",
                "occurred_at": occurred,
                "rating": rating,
                "status": None,
            }
        )
    return events, rejected
