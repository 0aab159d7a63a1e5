"""Amazon Selling Partner API: orders by Orders v2026-01-01 ``searchOrders`` (or v0 ``getOrders``,
live until March 2027), authorised by Login with Amazon refresh tokens.

Facts from ``shared/research/amazon.md`` and the official models; the mapping to the import
format is in :func:`order_from_v2026` and :func:`order_from_v0`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from seller_health.connectors import amazon_reports
from seller_health.connectors.base import (
    ApiError,
    Fetched,
    Malformed,
    NeedsReauthorisation,
    Rejected,
    Report,
    ReportOutcome,
    StaleResume,
)
from seller_health.connectors.http import (
    Caller,
    RateLimiter,
    Stats,
    UsagePlan,
    json_body,
    make_client,
    paginate,
)
from seller_health.timeutil import InstantError, format_instant, parse_instant

LWA_URL = "https://api.amazon.com/auth/o2/token"
ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
USAGE_PLANS = {
    "searchOrders": UsagePlan(rate=0.0056, burst=20),
    "getOrders": UsagePlan(rate=0.0167, burst=20),
    "createReport": UsagePlan(rate=0.0167, burst=15),
    "getReport": UsagePlan(rate=2.0, burst=15),
    "getReportDocument": UsagePlan(rate=0.0167, burst=15),
}
TOKEN_MARGIN = timedelta(minutes=5)  # refresh this long before the token expires
SETTLE = timedelta(minutes=2)  # both Orders APIs want *Before "at least two minutes before" now


@dataclass(frozen=True)
class AmazonCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)


class LwaTokens:
    """Access tokens from Login with Amazon, cached until shortly before they expire."""

    def __init__(
        self,
        credentials: AmazonCredentials,
        client: httpx.Client,
        *,
        url: str = LWA_URL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials, self.client, self.url, self.clock = credentials, client, url, clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LwaTokens(client_id={self.credentials.client_id!r})"

    def get(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._expires:
                self._refresh()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _refresh(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.credentials.refresh_token,
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret,
        }
        try:
            response = self.client.post(self.url, data=form)
        except httpx.HTTPError as exc:
            raise ConnectionError(f"Login with Amazon unreachable: {type(exc).__name__}") from None
        body = json_body(response) or {}
        if response.status_code != 200 or "access_token" not in body:
            error = body.get("error", f"HTTP {response.status_code}")
            if error in ("invalid_grant", "unauthorized_client"):
                raise NeedsReauthorisation(
                    f"Amazon refused the refresh token ({error}): the seller must authorise again"
                )
            raise ConnectionError(f"Login with Amazon refused the token request: {error}")
        lifetime = float(body.get("expires_in", 3600))
        self._token = body["access_token"]
        self._expires = self.clock() + max(lifetime - TOKEN_MARGIN.total_seconds(), lifetime / 2)


def _instant(value: Any, field_name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return parse_instant(str(value))
    except InstantError as exc:
        raise Malformed(f"{field_name}: {exc}") from None


def _required(value: Any, field_name: str) -> Any:
    if value in (None, ""):
        raise Malformed(f"{field_name} is missing")
    return value


def _money(money: Any, field_name: str) -> tuple[Decimal | None, str | None]:
    if not isinstance(money, dict):
        return None, None
    amount = money.get("amount", money.get("Amount"))
    currency = money.get("currencyCode", money.get("CurrencyCode"))
    try:
        return (Decimal(str(amount)) if amount not in (None, "") else None), currency or None
    except InvalidOperation:
        raise Malformed(f"{field_name}: {amount!r} is not an amount") from None


def buyer_key(email: str | None) -> str | None:
    """A stable buyer id that never stores the (anonymised) address itself."""
    if not email:
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:20]


V2026_STATUS = {
    "PENDING_AVAILABILITY": "pending", "PENDING": "pending", "UNSHIPPED": "unshipped",
    "PARTIALLY_SHIPPED": "unshipped", "UNFULFILLABLE": "unshipped", "SHIPPED": "shipped",
    "CANCELLED": "cancelled",
}  # fmt: skip
CANCELLED_BY = {"BUYER": "buyer", "MERCHANT": "seller", "AMAZON": "marketplace"}
SCANNED = {"IN_TRANSIT", "DELIVERED"}  # the carrier has seen the package: tracking is valid


def order_from_v2026(raw: dict[str, Any]) -> dict[str, Any]:
    """An Orders v2026-01-01 ``Order`` as an import-format order.

    The API has no delivery or cancellation instant and no carrier validation flag: delivery is
    left unknown, a cancelled order's cancellation instant is its last update, and tracking is
    valid once a package has carrier scans (in transit or delivered).
    """
    order_id = _required(raw.get("orderId"), "orderId")
    purchased_at = _instant(_required(raw.get("createdTime"), "createdTime"), "createdTime")
    updated_at = _instant(
        _required(raw.get("lastUpdatedTime"), "lastUpdatedTime"), "lastUpdatedTime"
    )
    if not isinstance(raw.get("salesChannel"), dict):
        raise Malformed("salesChannel is missing")
    if not isinstance(raw.get("orderItems"), list):
        raise Malformed("orderItems is missing")
    fulfillment = raw.get("fulfillment") or {}
    status = V2026_STATUS.get(_required(fulfillment.get("fulfillmentStatus"), "fulfillmentStatus"))
    if status is None:
        raise Malformed(
            f"fulfillmentStatus: unknown value {fulfillment.get('fulfillmentStatus')!r}"
        )
    packages = raw.get("packages") or []
    ship_times = [t for p in packages if (t := _instant(p.get("shipTime"), "packages.shipTime"))]
    statuses = [(p.get("packageStatus") or {}).get("status") for p in packages]
    tracking = next((p.get("trackingNumber") for p in packages if p.get("trackingNumber")), None)
    if packages and all(s == "DELIVERED" for s in statuses) and status == "shipped":
        status = "delivered"
    cancelled_by = None
    for item in raw.get("orderItems") or []:
        cancellation = item.get("cancellation") or {}
        who = (cancellation.get("cancellationExecution") or {}).get("cancelledBy") or (
            cancellation.get("cancellationRequest") or {}
        ).get("requester")
        cancelled_by = cancelled_by or CANCELLED_BY.get(who or "")
    total, currency = _money((raw.get("proceeds") or {}).get("grandTotal"), "proceeds.grandTotal")
    fulfilled_by = fulfillment.get("fulfilledBy")
    return {
        "order_id": order_id,
        "purchased_at": purchased_at,
        "status": status,
        "fulfillment": "marketplace" if fulfilled_by == "AMAZON" else "merchant",
        "ship_by": _instant(
            (fulfillment.get("shipByWindow") or {}).get("latestDateTime"), "shipByWindow"
        ),
        "deliver_by": _instant(
            (fulfillment.get("deliverByWindow") or {}).get("latestDateTime"), "deliverByWindow"
        ),
        "shipped_at": min(ship_times) if ship_times else None,
        "delivered_at": None,
        "tracking_id": tracking,
        "tracking_valid": True if tracking and any(s in SCANNED for s in statuses) else None,
        "cancelled_at": updated_at if status == "cancelled" else None,
        "cancelled_by": cancelled_by if status == "cancelled" else None,
        "refunded_at": None,
        "buyer_id": buyer_key((raw.get("buyer") or {}).get("buyerEmail")),
        "total": total,
        "currency": currency,
    }


V0_STATUS = {
    "PendingAvailability": "pending", "Pending": "pending", "Unshipped": "unshipped",
    "PartiallyShipped": "unshipped", "Unfulfillable": "unshipped", "InvoiceUnconfirmed": "shipped",
    "Shipped": "shipped", "Canceled": "cancelled",
}  # fmt: skip


def order_from_v0(raw: dict[str, Any]) -> dict[str, Any]:
    """An Orders v0 ``Order``. v0 has no ship-confirmation time nor tracking: those stay unknown."""
    order_id = _required(raw.get("AmazonOrderId"), "AmazonOrderId")
    purchased_at = _instant(_required(raw.get("PurchaseDate"), "PurchaseDate"), "PurchaseDate")
    updated_at = _instant(_required(raw.get("LastUpdateDate"), "LastUpdateDate"), "LastUpdateDate")
    status = V0_STATUS.get(_required(raw.get("OrderStatus"), "OrderStatus"))
    if status is None:
        raise Malformed(f"OrderStatus: unknown value {raw.get('OrderStatus')!r}")
    total, currency = _money(raw.get("OrderTotal"), "OrderTotal")
    channel = raw.get("FulfillmentChannel")
    return {
        "order_id": order_id,
        "purchased_at": purchased_at,
        "status": status,
        "fulfillment": "marketplace" if channel == "AFN" else "merchant",
        "ship_by": _instant(raw.get("LatestShipDate"), "LatestShipDate"),
        "deliver_by": _instant(raw.get("LatestDeliveryDate"), "LatestDeliveryDate"),
        "shipped_at": None,
        "delivered_at": None,
        "tracking_id": None,
        "tracking_valid": None,
        "cancelled_at": updated_at if status == "cancelled" else None,
        "cancelled_by": None,
        "refunded_at": None,
        "buyer_id": buyer_key((raw.get("BuyerInfo") or {}).get("BuyerEmail")),
        "total": total,
        "currency": currency,
    }


# Order fields each Orders API never reports (see the mapping functions above): rules that read
# them cannot be computed from synced data, and say so rather than report every order as bad.
UNKNOWN_FIELDS = {
    "2026-01-01": frozenset({"delivered_at", "refunded_at"}),
    "v0": frozenset(
        {
            "shipped_at",
            "delivered_at",
            "tracking_id",
            "tracking_valid",
            "cancelled_by",
            "refunded_at",
        }
    ),
}


# Amazon's own windows for the figures (no dates: they default to now), and 90 days of feedback.
REPORTS = (
    Report(amazon_reports.PERFORMANCE, "performance_report", "official"),
    Report(amazon_reports.FEEDBACK, "feedback", "events", span=timedelta(days=90)),
)


class AmazonConnector:
    """One seller account in some Amazon marketplaces: orders from the Orders API, the Account
    Health figures and the feedback from the Reports API."""

    marketplace = "amazon"
    streams = ("orders",)
    reports = REPORTS

    def __init__(
        self,
        account_id: str,
        credentials: AmazonCredentials,
        marketplace_ids: list[str],
        *,
        region: str = "na",
        api_url: str | None = None,
        lwa_url: str = LWA_URL,
        caller: Caller,
        orders_version: str = "2026-01-01",
        page_size: int = 100,
    ) -> None:
        if orders_version not in ("2026-01-01", "v0"):
            raise ValueError(f"unknown Orders API version {orders_version!r}")
        self.account_id = account_id
        self.marketplace_ids = marketplace_ids
        self.api_url = (api_url or ENDPOINTS[region]).rstrip("/")
        self.caller = caller
        self.tokens = LwaTokens(credentials, caller.client, url=lwa_url)
        self.orders_version = orders_version
        self.page_size = page_size
        self.settle = SETTLE
        self.unknown_fields = UNKNOWN_FIELDS[orders_version]

    @property
    def stats(self) -> Stats:
        return self.caller.stats

    def request_report(self, report: Report, start: datetime | None, end: datetime | None) -> str:
        return amazon_reports.request_report(self, report.kind, start, end)

    def poll_report(
        self, report_id: str, *, polls: int, sleep: Callable[[float], None]
    ) -> ReportOutcome:
        return amazon_reports.poll_report(self, report_id, polls=polls, sleep=sleep)

    def parse_report(self, report: Report, document: bytes) -> Fetched:
        if report.kind == amazon_reports.PERFORMANCE:
            return Fetched(amazon_reports.parse_performance(document, self.marketplace_ids))
        events, rejected = amazon_reports.parse_feedback(document)
        return Fetched(events, rejected)

    def _get(self, operation: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.send(operation, "GET", path, params=params)

    def send(
        self, operation: str, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any
    ) -> dict[str, Any]:
        """One SP-API operation under its rate limit, with token refresh; the JSON answer."""

        def send(client: httpx.Client) -> httpx.Response:
            headers = {"x-amz-access-token": self.tokens.get()}
            return client.request(method, f"{self.api_url}{path}", headers=headers, **kwargs)

        def refresh(response: httpx.Response) -> bool:
            self.tokens.invalidate()
            return True

        response = self.caller.call(self.account_id, operation, send, on_auth_failure=refresh)
        body = json_body(response)
        if response.status_code not in ok or not isinstance(body, dict):
            errors = (body.get("errors") if isinstance(body, dict) else None) or []
            said = "; ".join(
                f"{e.get('code', '?')}: {e.get('message', '')} {e.get('details') or ''}".strip()[
                    :300
                ]
                for e in errors
            )
            raise ApiError(
                f"{operation} failed for {self.account_id}: HTTP {response.status_code}"
                + (f" ({said})" if said else "")
            )
        return body

    def orders(
        self, updated_after: datetime, updated_before: datetime, resume: str | None = None
    ) -> Iterator[Fetched]:
        """Orders last updated in [after, before), one page at a time, from ``resume`` if given.

        A page token lives 24 hours and only with the very query it came from; a refused one
        raises :class:`StaleResume` so the caller reads the interval again.
        """
        pages = (
            self._orders_v0(updated_after, updated_before)
            if self.orders_version == "v0"
            else self._orders_v2026(updated_after, updated_before)
        )

        def fetch(token: str | None) -> tuple[list[Fetched], str | None]:
            try:
                fetched, next_token = pages(token)
            except ApiError as exc:
                if token is not None and token == resume:
                    raise StaleResume(str(exc)) from exc
                raise
            fetched[0].resume = next_token
            return fetched, next_token

        yield from paginate(fetch, resume)

    def _orders_v2026(
        self, updated_after: datetime, updated_before: datetime
    ) -> Callable[[str | None], tuple[list[Fetched], str | None]]:
        params = {
            "lastUpdatedAfter": format_instant(updated_after),
            "lastUpdatedBefore": format_instant(updated_before),
            "marketplaceIds": ",".join(self.marketplace_ids),
            "maxResultsPerPage": self.page_size,
            "includedData": "FULFILLMENT,PACKAGES,PROCEEDS,BUYER,CANCELLATION",
        }

        def page(token: str | None) -> tuple[list[Fetched], str | None]:
            query = {**params, "paginationToken": token} if token else params
            body = self._get("searchOrders", "/orders/2026-01-01/orders", query)
            raw_orders = body.get("orders")
            if not isinstance(raw_orders, list):
                raise ApiError("searchOrders answered without an 'orders' list")
            return [self._fetched(raw_orders, order_from_v2026, "orderId")], (
                body.get("pagination") or {}
            ).get("nextToken")

        return page

    def _orders_v0(
        self, updated_after: datetime, updated_before: datetime
    ) -> Callable[[str | None], tuple[list[Fetched], str | None]]:
        params = {
            "MarketplaceIds": ",".join(self.marketplace_ids),
            "LastUpdatedAfter": format_instant(updated_after),
            "LastUpdatedBefore": format_instant(updated_before),
            "MaxResultsPerPage": self.page_size,
        }

        def page(token: str | None) -> tuple[list[Fetched], str | None]:
            query = (
                {"MarketplaceIds": params["MarketplaceIds"], "NextToken": token}
                if token
                else params
            )
            body = self._get("getOrders", "/orders/v0/orders", query)
            payload = body.get("payload") or {}
            raw_orders = payload.get("Orders")
            if not isinstance(raw_orders, list):
                raise ApiError("getOrders answered without payload.Orders")
            return [self._fetched(raw_orders, order_from_v0, "AmazonOrderId")], payload.get(
                "NextToken"
            )

        return page

    @staticmethod
    def _fetched(
        raw_orders: list[Any], parse: Callable[[dict[str, Any]], dict[str, Any]], key: str
    ) -> Fetched:
        fetched = Fetched()
        for position, raw in enumerate(raw_orders):
            record_key = (
                str(raw.get(key) or f"position-{position}")
                if isinstance(raw, dict)
                else f"position-{position}"
            )
            try:
                if not isinstance(raw, dict):
                    raise Malformed("not a JSON object")
                fetched.records.append(parse(raw))
            except Malformed as exc:
                fetched.rejected.append(
                    Rejected(record_key, str(exc), raw if isinstance(raw, dict) else {"value": raw})
                )
        return fetched


def amazon_limiter(*, scale: float = 1.0, **kwargs: Any) -> RateLimiter:
    """A rate limiter seeded from Amazon's documented usage plans (``scale`` for simulators)."""
    plans = {op: UsagePlan(plan.rate * scale, plan.burst) for op, plan in USAGE_PLANS.items()}
    return RateLimiter(plans, **kwargs)


def connect_amazon(
    account_id: str,
    credentials: AmazonCredentials,
    marketplace_ids: list[str],
    *,
    region: str = "na",
    api_url: str | None = None,
    lwa_url: str = LWA_URL,
    orders_version: str = "2026-01-01",
    rate_scale: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> AmazonConnector:
    """A connector with its own client, retries and rate limiter (usage plans x ``rate_scale``);
    its rate-limit and retry waits go through ``sleep``."""
    caller = Caller(make_client(), amazon_limiter(scale=rate_scale, sleep=sleep))
    return AmazonConnector(
        account_id,
        credentials,
        marketplace_ids,
        region=region,
        api_url=api_url,
        lwa_url=lwa_url,
        caller=caller,
        orders_version=orders_version,
    )
