"""Reports API 2021-06-30: createReport, getReport, cancelReport, getReportDocument, download.

A report walks IN_QUEUE -> IN_PROGRESS -> DONE as it is polled and as the simulator's clock
advances (``ReportTiming``), so a connector's polling loop is exercised for real. It can end
FATAL — with a ``reportDocumentId`` whose document holds ``errorDetails``, a behaviour the notes
flag as seen in practice but unconfirmed — or CANCELLED, forced per report type, drawn from the
seed, or because the feedback report found no rows ("automatic cancellation if there is no data to
return", per the model). The document URL is pre-signed: it needs no access token, expires after
five minutes, and serves gzip bytes (``Content-Encoding: gzip`` only when the URL was requested
with ``enableContentEncodingUrlHeader=true``).

GET_SELLER_FEEDBACK_DATA is tab-separated with the headings ``Date, Rating, Comments, Your
Response, Order ID, Rater Email`` and holds 1-3 star feedback only. Amazon does not document the
``Date`` format; the simulator writes ``MM/DD/YY`` for NA and ``DD/MM/YY`` elsewhere (override per
account with ``SellerAccount.feedback_date_format``), so a connector must not assume ISO dates.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import random
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from seller_health.simulator.config import SellerAccount, SimulatorConfig
from seller_health.simulator.data import AccountData, SimEvent
from seller_health.simulator.health import performance_report
from seller_health.simulator.responses import ApiError, invalid_input, iso, parse_instant


class Simulator(Protocol):
    """What the Reports API reads of the simulator (``app.Simulator``), named here so that this
    module does not import the application that routes to it."""

    config: SimulatorConfig
    reports: ReportStore

    def now(self) -> datetime: ...
    def account(self, refresh_token: str) -> SellerAccount: ...
    def account_data(self, refresh_token: str) -> AccountData: ...
    def events_for(self, refresh_token: str) -> list[SimEvent]: ...


PERFORMANCE_REPORT = "GET_V2_SELLER_PERFORMANCE_REPORT"
FEEDBACK_REPORT = "GET_SELLER_FEEDBACK_DATA"
REPORT_TYPES = (PERFORMANCE_REPORT, FEEDBACK_REPORT)
FEEDBACK_COLUMNS = ("Date", "Rating", "Comments", "Your Response", "Order ID", "Rater Email")
URL_LIFETIME = timedelta(minutes=5)
FATAL_DETAILS = "The report could not be generated because of an internal error. Request it again."
_DATE_FORMATS = {"NA": "%m/%d/%y", "EU": "%d/%m/%y", "FE": "%d/%m/%y"}


@dataclass
class Document:
    document_id: str
    account: str
    content: bytes  # uncompressed
    content_type: str


@dataclass
class ReportState:
    report_id: str
    account: str
    report_type: str
    marketplace_ids: list[str]
    created: datetime
    data_start: datetime
    data_end: datetime
    outcome: str  # DONE | FATAL | CANCELLED, decided at creation
    stage: str = "IN_QUEUE"
    stage_started: datetime | None = None
    polls: int = 0
    processing_start: datetime | None = None
    processing_end: datetime | None = None
    document_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "reportId": self.report_id,
            "reportType": self.report_type,
            "marketplaceIds": self.marketplace_ids,
            "dataStartTime": iso(self.data_start),
            "dataEndTime": iso(self.data_end),
            "createdTime": iso(self.created),
            "processingStatus": self.stage,
        }
        if self.processing_start is not None:
            body["processingStartTime"] = iso(self.processing_start)
        if self.processing_end is not None:
            body["processingEndTime"] = iso(self.processing_end)
        if self.document_id is not None:
            body["reportDocumentId"] = self.document_id
        return body


class ReportStore:
    """Reports and documents of every account; all state changes happen under one lock."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._lock = threading.Lock()
        self._reports: dict[str, ReportState] = {}
        self._documents: dict[str, Document] = {}
        self._ordinals: Counter[tuple[str, str]] = Counter()
        self._key = hashlib.sha256(f"{sim.config.seed}:presign".encode()).digest()

    # --- createReport ----------------------------------------------------------------------

    def create(self, account: str, body: Any) -> str:
        if not isinstance(body, dict):
            raise invalid_input("The request body must be a CreateReportSpecification object.")
        report_type = body.get("reportType")
        if not isinstance(report_type, str) or not report_type:
            raise invalid_input("reportType is required.")
        if report_type not in REPORT_TYPES:
            raise invalid_input(f"Invalid reportType {report_type}.")
        marketplace_ids = body.get("marketplaceIds")
        if (
            not isinstance(marketplace_ids, list)
            or not 1 <= len(marketplace_ids) <= 25
            or not all(isinstance(m, str) for m in marketplace_ids)
        ):
            raise invalid_input("marketplaceIds must be a list of 1 to 25 marketplace ids.")
        own = self._sim.account(account).marketplace_id
        foreign = [m for m in marketplace_ids if m != own]
        if foreign:
            raise invalid_input(f"Invalid marketplaceIds for this seller: {', '.join(foreign)}.")
        options = body.get("reportOptions")
        if options is not None and not (
            isinstance(options, dict) and all(isinstance(v, str) for v in options.values())
        ):
            raise invalid_input("reportOptions must be a map of strings.")
        now = self._sim.now()
        start = self._time(body, "dataStartTime", now)
        end = self._time(body, "dataEndTime", now)
        if start > end:
            raise invalid_input("dataStartTime must be before dataEndTime.")
        with self._lock:
            self._ordinals[(account, report_type)] += 1
            ordinal = self._ordinals[(account, report_type)]
            report_id = str(50_000_000_000 + len(self._reports) * 7 + 1)
            state = ReportState(
                report_id=report_id,
                account=account,
                report_type=report_type,
                marketplace_ids=list(marketplace_ids),
                created=now,
                data_start=start,
                data_end=end,
                outcome=self._outcome(account, report_type, ordinal),
                stage_started=now,
            )
            self._reports[report_id] = state
        return report_id

    @staticmethod
    def _time(body: dict[str, Any], name: str, now: datetime) -> datetime:
        raw = body.get(name)
        if raw is None:
            return now  # the model: "The default is now."
        try:
            moment = parse_instant(str(raw))
        except ValueError:
            raise invalid_input(f"{name} is not an ISO 8601 date-time.") from None
        if moment > now:
            raise invalid_input(f"{name} must be prior to or equal to the current date and time.")
        return moment

    def _outcome(self, account: str, report_type: str, ordinal: int) -> str:
        forced = self._sim.config.report_outcomes.get(report_type)
        if forced:
            return forced
        faults = self._sim.config.faults
        draw = random.Random(
            f"{self._sim.config.seed}:report:{account}:{report_type}:{ordinal}"
        ).random()
        if draw < faults.report_fatal:
            return "FATAL"
        if draw < faults.report_fatal + faults.report_cancelled:
            return "CANCELLED"
        return "DONE"

    # --- getReport / cancelReport ----------------------------------------------------------

    def _find(self, account: str, report_id: str) -> ReportState:
        state = self._reports.get(report_id)
        if state is None or state.account != account:
            raise ApiError(404, "NotFound", "The requested report was not found.", report_id)
        return state

    def poll(self, account: str, report_id: str) -> dict[str, Any]:
        with self._lock:
            state = self._find(account, report_id)
            self._advance(state)
            body = state.as_json()
            state.polls += 1
            return body

    def cancel(self, account: str, report_id: str) -> None:
        with self._lock:
            state = self._find(account, report_id)
            self._advance(state)
            if state.stage != "IN_QUEUE":
                raise invalid_input(
                    f"Report {report_id} is {state.stage}; only IN_QUEUE reports can be cancelled."
                )
            state.stage = "CANCELLED"
            state.processing_end = self._sim.now()

    def _advance(self, state: ReportState) -> None:
        """Move on each stage whose poll count and duration are both met."""
        timing = self._sim.config.report_timing
        now = self._sim.now()
        polls_needed = {"IN_QUEUE": timing.polls_in_queue, "IN_PROGRESS": timing.polls_in_progress}
        seconds_needed = {
            "IN_QUEUE": timing.seconds_in_queue,
            "IN_PROGRESS": timing.seconds_in_progress,
        }
        while state.stage in polls_needed:
            assert state.stage_started is not None
            elapsed = (now - state.stage_started).total_seconds()
            polls_ok = state.polls >= polls_needed[state.stage]
            if not (polls_ok and elapsed >= seconds_needed[state.stage]):
                return
            state.polls = 0
            state.stage_started = now
            if state.stage == "IN_QUEUE":
                state.stage = "IN_PROGRESS"
                state.processing_start = now
            else:
                self._finish(state, now)

    def _finish(self, state: ReportState, now: datetime) -> None:
        state.processing_end = now
        outcome = state.outcome
        content: bytes | None = None
        content_type = "application/json"
        if outcome == "DONE":
            if state.report_type == PERFORMANCE_REPORT:
                report = performance_report(self._sim.account_data(state.account), state.created)
                content = json.dumps(report).encode()
            else:
                content = self._feedback(state)
                content_type = "text/tab-separated-values; charset=UTF-8"
                if content is None:
                    outcome = "CANCELLED"  # nothing to report
        elif outcome == "FATAL":
            content = json.dumps({"errorDetails": FATAL_DETAILS}).encode()
        state.stage = outcome
        if content is not None:
            document_id = self._document_id(state)
            self._documents[document_id] = Document(
                document_id, state.account, content, content_type
            )
            state.document_id = document_id

    def _document_id(self, state: ReportState) -> str:
        region = (self._sim.account(state.account).region or "na").lower()
        token = uuid.uuid5(uuid.NAMESPACE_URL, f"{self._sim.config.seed}:{state.report_id}")
        return f"amzn1.spdoc.1.4.{region}.{token}.T{state.report_id[-6:]}"

    def _feedback(self, state: ReportState) -> bytes | None:
        account = self._sim.account(state.account)
        pattern = account.feedback_date_format or _DATE_FORMATS[account.region or "NA"]
        rows = [
            event
            for event in self._sim.events_for(state.account)
            if event.kind == "feedback"
            and event.rating is not None
            and event.rating <= 3
            and state.data_start <= event.occurred_at <= state.data_end
        ]
        if not rows:
            return None
        lines = ["\t".join(FEEDBACK_COLUMNS)]
        for event in sorted(rows, key=lambda e: (e.occurred_at, e.event_id), reverse=True):
            lines.append(
                "\t".join(
                    (
                        event.occurred_at.strftime(pattern),
                        str(event.rating),
                        event.comment or "",
                        event.response or "",
                        event.order_id,
                        event.rater_email or "",
                    )
                )
            )
        return ("\n".join(lines) + "\n").encode("utf-8")

    # --- documents -------------------------------------------------------------------------

    def document(
        self, account: str, document_id: str, base_url: str, encoding_header: bool
    ) -> dict[str, str]:
        with self._lock:
            document = self._documents.get(document_id)
        if document is None or document.account != account:
            raise ApiError(404, "NotFound", "The requested report document was not found.", "")
        signed_at = self._sim.now().strftime("%Y%m%dT%H%M%SZ")
        params = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Date": signed_at,
            "X-Amz-Expires": str(int(URL_LIFETIME.total_seconds())),
        }
        if encoding_header:
            params["response-content-encoding"] = "gzip"
        params["X-Amz-Signature"] = self._sign(document_id, params)
        return {
            "reportDocumentId": document_id,
            "url": f"{base_url.rstrip('/')}/documents-download/{document_id}?{urlencode(params)}",
            "compressionAlgorithm": "GZIP",
        }

    def _sign(self, document_id: str, params: dict[str, str]) -> str:
        material = (
            document_id
            + "|"
            + "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "X-Amz-Signature")
        )
        return hmac.new(self._key, material.encode(), hashlib.sha256).hexdigest()

    def download(self, document_id: str, params: dict[str, str]) -> Response:
        """Serve a pre-signed URL the way S3 does, including its XML errors."""
        signature = params.get("X-Amz-Signature", "")
        if not hmac.compare_digest(signature, self._sign(document_id, params)):
            return _s3_error(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        try:
            signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
            lifetime = timedelta(seconds=int(params["X-Amz-Expires"]))
        except (KeyError, ValueError):
            return _s3_error("AuthorizationQueryParametersError", "Malformed pre-signed URL.")
        now = self._sim.now()
        if now > signed_at.replace(tzinfo=now.tzinfo) + lifetime:
            return _s3_error("AccessDenied", "Request has expired")
        with self._lock:
            document = self._documents.get(document_id)
        if document is None:
            return _s3_error("NoSuchKey", "The specified key does not exist.", status=404)
        body = gzip.compress(document.content, mtime=0)
        if params.get("response-content-encoding") == "gzip":
            headers = {"Content-Encoding": "gzip"}
            return Response(body, media_type=document.content_type, headers=headers)
        return Response(body, media_type="application/octet-stream")


def _s3_error(code: str, message: str, status: int = 403) -> Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return Response(xml, status_code=status, media_type="application/xml")


async def create_report(sim: Simulator, request: Request, account: str) -> Response:
    content_type = request.headers.get("content-type")
    if content_type and "json" not in content_type:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            "The request payload is in an unsupported format.",
            content_type,
        )
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise invalid_input("The request body is not valid JSON.") from None
    report_id = sim.reports.create(account, body)
    return JSONResponse({"reportId": report_id}, status_code=202)


async def get_report(sim: Simulator, request: Request, account: str) -> Response:
    return JSONResponse(sim.reports.poll(account, request.path_params["reportId"]))


async def cancel_report(sim: Simulator, request: Request, account: str) -> Response:
    sim.reports.cancel(account, request.path_params["reportId"])
    return Response(status_code=200)


async def get_report_document(sim: Simulator, request: Request, account: str) -> Response:
    flag = request.query_params.get("enableContentEncodingUrlHeader", "false").lower()
    if flag not in ("true", "false"):
        raise invalid_input("enableContentEncodingUrlHeader must be true or false.")
    body = sim.reports.document(
        account,
        request.path_params["reportDocumentId"],
        str(request.base_url),
        encoding_header=flag == "true",
    )
    return JSONResponse(body)


async def download_document(sim: Simulator, request: Request) -> Response:
    params = {key: value for key, value in request.query_params.items()}
    return sim.reports.download(request.path_params["documentId"], params)
