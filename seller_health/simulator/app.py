"""The Starlette app and the ``Simulator`` state behind it.

Every SP-API operation goes through one pipeline, in the order Amazon's edge applies it: the
access token (403, no rate-limit header), the quota bucket (429, no rate-limit header), injected
faults (429/500/503 and delays), then the operation itself, whose 200/202/400/404 answers carry
``x-amzn-RateLimit-Limit``. ``x-amzn-RequestId`` is added to every response by middleware.

``app.state.simulator`` is the ground truth for tests: ``orders_for``, ``events_for``,
``performance_report`` and ``request_log``.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from seller_health.simulator import orders, reports
from seller_health.simulator.auth import TokenStore, token_endpoint
from seller_health.simulator.calibrate import calibrate_healthy, calibrate_troubled
from seller_health.simulator.config import SellerAccount, SimulatorConfig
from seller_health.simulator.data import AccountData, SimEvent, SimOrder, generate_account
from seller_health.simulator.faults import LWA_OPERATION, FaultInjector
from seller_health.simulator.health import performance_report
from seller_health.simulator.limits import QUOTA_MESSAGE, RateLimiter, header_value
from seller_health.simulator.mail import SimMessage, generate_messages, write_maildir
from seller_health.simulator.marketplaces import Marketplace
from seller_health.simulator.paging import PageTokens
from seller_health.simulator.responses import (
    RATE_LIMIT_HEADER,
    ApiError,
    RequestIdMiddleware,
    error_body,
)

Handler = Callable[["Simulator", Request, str], Awaitable[Response]]
ACCESS_TOKEN_HEADER = "x-amz-access-token"


@dataclass(frozen=True)
class LoggedCall:
    """One call as the simulator saw it, for asserting a connector's pacing and retries."""

    at: datetime
    operation: str
    account: str | None
    status: int


class Simulator:
    """Seeded data, tokens, quotas, faults and reports of one simulated SP-API."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        anchor = config.data_end or (config.clock() - timedelta(minutes=5))
        self.data_end = anchor.replace(microsecond=0)
        self._accounts = {a.refresh_token: a for a in config.accounts}
        self._data: dict[str, AccountData] = {}
        for account in config.accounts:
            data = generate_account(
                config.seed, account, self.data_end, config.history_days, config.faults.malformed
            )
            if account.in_trouble:
                data = calibrate_troubled(data, self.data_end)
            else:
                data = calibrate_healthy(data, self.data_end)
            self._data[account.refresh_token] = data
        self._indexes = {token: orders.OrderIndex(d.orders) for token, d in self._data.items()}
        self.tokens = TokenStore(config)
        self.limiter = RateLimiter(config.rate_scale)
        self.faults = FaultInjector(config.seed, config.faults)
        self.page_tokens = PageTokens(config.seed)
        self.reports = reports.ReportStore(self)
        self._log_lock = threading.Lock()
        self.request_log: list[LoggedCall] = []

    # --- ground truth ----------------------------------------------------------------------

    def now(self) -> datetime:
        return self.config.clock()

    def account(self, refresh_token: str) -> SellerAccount:
        return self._accounts[refresh_token]

    def account_data(self, refresh_token: str) -> AccountData:
        return self._data[refresh_token]

    def market(self, refresh_token: str) -> Marketplace:
        return self._data[refresh_token].market

    def orders_for(self, refresh_token: str) -> list[SimOrder]:
        """Every order of the account as of ``data_end``, by purchase time (malformed included)."""
        return list(self._data[refresh_token].orders)

    def events_for(self, refresh_token: str) -> list[SimEvent]:
        """Feedback (all ratings), A-to-z claims and chargebacks, by time."""
        return list(self._data[refresh_token].events)

    def messages_for(self, refresh_token: str) -> list[SimMessage]:
        """Buyer messages and reply copies of the last 90 days, by time (the mailbox's truth)."""
        data = self._data[refresh_token]
        return list(generate_messages(self.config.seed, data, self.data_end))

    def write_mailbox(self, refresh_token: str, path: Path) -> list[Path]:
        """Deliver the account's relay emails into a Maildir at ``path``, as Seller Central's
        "Buyer Messages" notifications (and the seller's reply copies) would arrive there."""
        data = self._data[refresh_token]
        return write_maildir(tuple(self.messages_for(refresh_token)), data, path)

    def performance_report(self, refresh_token: str, at: datetime | None = None) -> dict[str, Any]:
        """What GET_V2_SELLER_PERFORMANCE_REPORT created at ``at`` (default now) contains."""
        return performance_report(self._data[refresh_token], at or self.now())

    def order_index(self, refresh_token: str) -> orders.OrderIndex:
        return self._indexes[refresh_token]

    # --- test controls ---------------------------------------------------------------------

    def revoke(self, refresh_token: str) -> None:
        self.tokens.revoke(refresh_token)

    def expire_tokens(self) -> None:
        self.tokens.expire_all()

    def calls(self, operation: str | None = None) -> list[LoggedCall]:
        with self._log_lock:
            return [c for c in self.request_log if operation is None or c.operation == operation]

    def log(self, operation: str, account: str | None, status: int) -> None:
        with self._log_lock:
            self.request_log.append(LoggedCall(self.now(), operation, account, status))

    # --- the operation pipeline ------------------------------------------------------------

    def operation(self, name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            response, account = await self._run(name, handler, request)
            self.log(name, account, response.status_code)
            return response

        endpoint.__name__ = name
        return endpoint

    async def _run(
        self, name: str, handler: Handler, request: Request
    ) -> tuple[Response, str | None]:
        try:
            account = self.tokens.account_for(request.headers.get(ACCESS_TOKEN_HEADER))
        except ApiError as error:
            return error.response(), None
        wait = self.limiter.acquire(account, name, self.now())
        if wait > 0:
            return self._throttled(wait), account
        fault = self.faults.decide(account, name)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.error is not None:
            if fault.error.status == 429:
                return self._throttled(1.0), account
            return fault.error.response(), account
        try:
            response = await handler(self, request, account)
        except ApiError as error:
            response = error.response()
        if response.status_code in (200, 202, 400, 404):
            response.headers[RATE_LIMIT_HEADER] = header_value(self.limiter.plan(name).rate)
        return response, account

    def _throttled(self, wait: float) -> Response:
        headers = (
            {"Retry-After": str(max(1, math.ceil(wait)))} if self.config.send_retry_after else None
        )
        return ApiError(429, "QuotaExceeded", QUOTA_MESSAGE, "").response(headers)

    async def lwa(self, request: Request) -> Response:
        fault = self.faults.decide("-", LWA_OPERATION)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.error is not None and fault.error.status != 429:
            response: Response = JSONResponse(
                {"error": "server_error", "error_description": fault.error.message},
                status_code=fault.error.status,
            )
        else:
            response = await token_endpoint(request, self.tokens, self.config)
        self.log(LWA_OPERATION, None, response.status_code)
        return response

    async def download(self, request: Request) -> Response:
        response = await reports.download_document(self, request)
        self.log("downloadDocument", None, response.status_code)
        return response


async def _route_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = {404: "NotFound", 405: "MethodNotAllowed"}.get(status, "InternalFailure")
    message = "Resource not found." if status == 404 else "Method not allowed."
    return JSONResponse(error_body(code, message, request.url.path), status_code=status)


def create_app(config: SimulatorConfig) -> Starlette:
    """Build the simulated SP-API + LWA + document host as one ASGI app."""
    sim = Simulator(config)
    op = sim.operation
    routes = [
        Route("/auth/o2/token", sim.lwa, methods=["POST"]),
        Route("/orders/2026-01-01/orders", op("searchOrders", orders.search_orders)),
        Route("/orders/2026-01-01/orders/{orderId}", op("getOrder", orders.get_order_2026)),
        Route("/orders/v0/orders", op("getOrders", orders.get_orders_v0)),
        Route(
            "/reports/2021-06-30/reports",
            op("createReport", reports.create_report),
            methods=["POST"],
        ),
        Route(
            "/reports/2021-06-30/reports/{reportId}",
            op("getReport", reports.get_report),
            methods=["GET"],
        ),
        Route(
            "/reports/2021-06-30/reports/{reportId}",
            op("cancelReport", reports.cancel_report),
            methods=["DELETE"],
        ),
        Route(
            "/reports/2021-06-30/documents/{reportDocumentId}",
            op("getReportDocument", reports.get_report_document),
        ),
        Route("/documents-download/{documentId}", sim.download),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestIdMiddleware)],
        exception_handlers={404: _route_error, 405: _route_error},
    )
    app.state.simulator = sim
    return app
