"""Orders API: searchOrders and getOrder (v2026-01-01) and getOrders (v0).

Both list operations page through the seller's orders sorted by the query's time field
(``createdTime``/``PurchaseDate`` or ``lastUpdatedTime``/``LastUpdateDate``, ties by order id),
with the documented rules enforced rather than assumed: exactly one of created-after and
last-updated-after, no mixing of created and last-updated bounds, upper bounds at least two
minutes in the past (the default bound is now minus two minutes and is echoed back), page size
1-100. v2026 tokens expire after 24 hours and demand the same filter parameters as the request
that produced them (only ``maxResultsPerPage`` and ``includedData`` may change); a v0
``NextToken``, when present, alone decides the query.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse

from seller_health.simulator.config import SellerAccount
from seller_health.simulator.data import SimOrder
from seller_health.simulator.marketplaces import Marketplace
from seller_health.simulator.paging import PageTokens
from seller_health.simulator.render import (
    INCLUDED_DATA,
    STATUS_2026,
    STATUS_V0,
    order_2026,
    order_v0,
)
from seller_health.simulator.responses import ApiError, invalid_input, iso, parse_instant


class Simulator(Protocol):
    """What the Orders API reads of the simulator (``app.Simulator``), named here so that this
    module does not import the application that routes to it."""

    page_tokens: PageTokens

    def now(self) -> datetime: ...
    def account(self, refresh_token: str) -> SellerAccount: ...
    def market(self, refresh_token: str) -> Marketplace: ...
    def order_index(self, refresh_token: str) -> OrderIndex: ...


MIN_AGE = timedelta(minutes=2)
TOKEN_LIFETIME_2026 = timedelta(hours=24)
FULFILLMENT_STATUSES = tuple(dict.fromkeys(STATUS_2026.values())) + (
    "PENDING_AVAILABILITY",
    "PARTIALLY_SHIPPED",
    "UNFULFILLABLE",
)
ORDER_STATUSES_V0 = tuple(dict.fromkeys(STATUS_V0.values())) + (
    "PendingAvailability",
    "PartiallyShipped",
    "InvoiceUnconfirmed",
    "Unfulfillable",
)
Predicate = Callable[[SimOrder], bool]


class OrderIndex:
    """One account's orders sorted by each time field, for bisecting to a page start."""

    def __init__(self, orders: tuple[SimOrder, ...]) -> None:
        self._sorted: dict[str, list[SimOrder]] = {}
        self._keys: dict[str, list[tuple[datetime, str]]] = {}
        for field in ("created", "updated"):
            ordered = sorted(orders, key=partial(sort_key, field=field))
            self._sorted[field] = ordered
            self._keys[field] = [sort_key(o, field) for o in ordered]
        self.by_id = {o.order_id: o for o in orders}

    def page(
        self,
        field: str,
        after: datetime,
        before: datetime,
        predicate: Predicate,
        resume_after: tuple[datetime, str] | None,
        size: int,
    ) -> tuple[list[SimOrder], bool]:
        """Up to ``size`` matching orders after the resume point, and whether more remain."""
        keys = self._keys[field]
        if resume_after is None:
            start = bisect_left(keys, (after, ""))
        else:
            start = bisect_right(keys, resume_after)
        page: list[SimOrder] = []
        for order in self._walk(field, start, before):
            if not predicate(order):
                continue
            if len(page) == size:
                return page, True
            page.append(order)
        return page, False

    def _walk(self, field: str, start: int, before: datetime) -> Iterator[SimOrder]:
        for order in self._sorted[field][start:]:
            if sort_key(order, field)[0] > before:
                return
            yield order


def sort_key(order: SimOrder, field: str) -> tuple[datetime, str]:
    moment = order.purchased_at if field == "created" else order.last_updated_at
    return moment, order.order_id


# --- parameter parsing ---------------------------------------------------------------------


def list_param(request: Request, name: str) -> list[str] | None:
    """Array parameters are comma-separated (Swagger 2 ``csv``); repeated keys are also read."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def time_param(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_instant(raw)
    except ValueError:
        raise invalid_input(f"{name} is not a valid ISO 8601 date-time: {raw}") from None


def page_size(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise invalid_input(f"{name} must be an integer between 1 and 100.") from None
    if not 1 <= value <= 100:
        raise invalid_input(f"{name} must be an integer between 1 and 100.")
    return value


def enum_param(request: Request, name: str, allowed: tuple[str, ...]) -> list[str] | None:
    values = list_param(request, name)
    if values is not None:
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise invalid_input(f"Invalid {name} value(s): {', '.join(unknown)}.")
    return values


def marketplace_filter(sim: Simulator, account: str, values: list[str] | None, name: str) -> None:
    if values is None:
        return
    if len(values) > 50:
        raise invalid_input(f"{name} accepts at most 50 marketplace ids.")
    own = sim.account(account).marketplace_id
    foreign = [m for m in values if m != own]
    if foreign:
        raise invalid_input(f"Invalid {name} for this seller: {', '.join(foreign)}.")


@dataclass(frozen=True)
class TimeQuery:
    field: str  # created | updated
    after: datetime
    before: datetime
    before_given: bool


def resolve_times(
    request: Request,
    now: datetime,
    names: tuple[str, str, str, str],
) -> TimeQuery:
    """Apply the after/before rules shared by v0 and v2026 (``names`` in each API's spelling)."""
    created_after_name, created_before_name, updated_after_name, updated_before_name = names
    created_after = time_param(request, created_after_name)
    created_before = time_param(request, created_before_name)
    updated_after = time_param(request, updated_after_name)
    updated_before = time_param(request, updated_before_name)
    if (created_after is None) == (updated_after is None):
        raise invalid_input(
            f"Exactly one of {created_after_name} and {updated_after_name} must be provided."
        )
    if created_after is not None and (updated_before is not None):
        raise invalid_input(
            f"{updated_before_name} cannot be set when {created_after_name} is set."
        )
    if updated_after is not None and (created_before is not None):
        raise invalid_input(
            f"{created_before_name} cannot be set when {updated_after_name} is set."
        )
    if created_after is not None:
        field, after = "created", created_after
        before, after_name, before_name = created_before, created_after_name, created_before_name
    else:
        assert updated_after is not None
        field, after = "updated", updated_after
        before, after_name, before_name = updated_before, updated_after_name, updated_before_name
    latest = now - MIN_AGE
    given = before is not None
    if before is None:
        if after > latest:
            raise invalid_input(
                f"{after_name} must be at least two minutes before the current time."
            )
        before = latest
    elif before > latest:
        raise invalid_input(f"{before_name} must be at least two minutes before the current time.")
    elif before < after:
        raise invalid_input(f"{before_name} must be equal to or after {after_name}.")
    return TimeQuery(field, after, before, given)


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:24]


# --- searchOrders / getOrder (v2026-01-01) -------------------------------------------------


async def search_orders(sim: Simulator, request: Request, account: str) -> JSONResponse:
    now = sim.now()
    names = ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore")
    times = resolve_times(request, now, names)
    size = page_size(request, "maxResultsPerPage") or 100
    statuses = enum_param(request, "fulfillmentStatuses", FULFILLMENT_STATUSES)
    fulfilled_by = enum_param(request, "fulfilledBy", ("MERCHANT", "AMAZON"))
    marketplaces = list_param(request, "marketplaceIds")
    marketplace_filter(sim, account, marketplaces, "marketplaceIds")
    included = frozenset(enum_param(request, "includedData", INCLUDED_DATA) or ())
    query_digest = _digest(
        {
            "field": times.field,
            "after": iso(times.after),
            "before": iso(times.before) if times.before_given else None,
            "statuses": sorted(statuses or []),
            "fulfilledBy": sorted(fulfilled_by or []),
            "marketplaceIds": sorted(marketplaces or []),
        }
    )
    before = times.before
    resume = None
    token = request.query_params.get("paginationToken")
    if token:
        payload = sim.page_tokens.decode(token, "paginationToken")
        if payload.get("op") != "searchOrders" or payload.get("acct") != _digest(account):
            raise invalid_input("Invalid paginationToken.")
        if payload.get("q") != query_digest:
            raise invalid_input(
                "paginationToken does not match the request: repeat every parameter except "
                "maxResultsPerPage and includedData."
            )
        if now - datetime.fromtimestamp(payload["iat"], tz=now.tzinfo) > TOKEN_LIFETIME_2026:
            raise invalid_input("paginationToken has expired.")
        before = parse_instant(payload["before"])
        resume = (parse_instant(payload["k"][0]), payload["k"][1])

    def matches(order: SimOrder) -> bool:
        if statuses is not None and STATUS_2026[order.status] not in statuses:
            return False
        channel = "MERCHANT" if order.is_mfn else "AMAZON"
        return fulfilled_by is None or channel in fulfilled_by

    index = sim.order_index(account)
    orders, more = index.page(times.field, times.after, before, matches, resume, size)
    market = sim.market(account)
    body: dict[str, Any] = {"orders": [order_2026(o, market, included) for o in orders]}
    if more:
        last = sort_key(orders[-1], times.field)
        payload = {
            "op": "searchOrders",
            "acct": _digest(account),
            "q": query_digest,
            "before": iso(before),
            "k": [iso(last[0]), last[1]],
            "iat": int(now.timestamp()),
        }
        body["pagination"] = {"nextToken": sim.page_tokens.encode(payload)}
    body["createdBefore" if times.field == "created" else "lastUpdatedBefore"] = iso(before)
    return JSONResponse(body)


async def get_order_2026(sim: Simulator, request: Request, account: str) -> JSONResponse:
    order = sim.order_index(account).by_id.get(request.path_params["orderId"])
    if order is None:
        raise ApiError(404, "NotFound", "The requested order was not found.", "")
    included = frozenset(enum_param(request, "includedData", INCLUDED_DATA) or ())
    return JSONResponse({"order": order_2026(order, sim.market(account), included)})


# --- getOrders (v0) ------------------------------------------------------------------------


async def get_orders_v0(sim: Simulator, request: Request, account: str) -> JSONResponse:
    now = sim.now()
    marketplaces = list_param(request, "MarketplaceIds")
    if not marketplaces:
        raise invalid_input("MarketplaceIds is required.")
    marketplace_filter(sim, account, marketplaces, "MarketplaceIds")
    size = page_size(request, "MaxResultsPerPage")
    token = request.query_params.get("NextToken")
    if token:
        payload = sim.page_tokens.decode(token, "NextToken")
        if payload.get("op") != "getOrders" or payload.get("acct") != _digest(account):
            raise invalid_input("Invalid NextToken.")
        query = payload["q"]
        field = query["field"]
        after = parse_instant(query["after"])
        before = parse_instant(query["before"])
        statuses, channels, ids = query["statuses"], query["channels"], query["ids"]
        resume = (parse_instant(payload["k"][0]), payload["k"][1])
        size = size or query["size"]
    else:
        names = ("CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore")
        times = resolve_times(request, now, names)
        field, after, before = times.field, times.after, times.before
        statuses = enum_param(request, "OrderStatuses", ORDER_STATUSES_V0)
        channels = enum_param(request, "FulfillmentChannels", ("MFN", "AFN"))
        ids = list_param(request, "AmazonOrderIds")
        if ids is not None and len(ids) > 50:
            raise invalid_input("AmazonOrderIds accepts at most 50 ids.")
        resume = None
        size = size or 100
        query = {
            "field": field,
            "after": iso(after),
            "before": iso(before),
            "statuses": statuses,
            "channels": channels,
            "ids": ids,
            "size": size,
        }

    def matches(order: SimOrder) -> bool:
        if statuses is not None and STATUS_V0[order.status] not in statuses:
            return False
        if channels is not None and ("MFN" if order.is_mfn else "AFN") not in channels:
            return False
        return ids is None or order.order_id in ids

    orders, more = sim.order_index(account).page(field, after, before, matches, resume, size)
    market = sim.market(account)
    payload_out: dict[str, Any] = {"Orders": [order_v0(o, market) for o in orders]}
    if more:
        last = sort_key(orders[-1], field)
        payload_out["NextToken"] = sim.page_tokens.encode(
            {"op": "getOrders", "acct": _digest(account), "q": query, "k": [iso(last[0]), last[1]]}
        )
    payload_out["CreatedBefore" if field == "created" else "LastUpdatedBefore"] = iso(before)
    return JSONResponse({"payload": payload_out})
