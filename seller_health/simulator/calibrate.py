"""Keep healthy sellers healthy in the report windows ending at ``data_end``.

A small seller has ~20 orders in the 7-day cancellation window and ~100 in the 60-day ODR window,
so one unlucky draw at healthy rates already breaches a 2.5% or 1% target. A test that asks "does
a healthy account come out clean?" must not depend on the seed, so after drawing, the few events
that breach a target in the windows of a report created on ``data_end``'s day are repaired —
defects dropped, a seller cancellation turned into a buyer one, a late shipment or delivery moved
on time, a tracking number made valid — until every core metric is GOOD (or NONE). Troubled
accounts are left as drawn: their rates breach by a wide margin anyway.

The report's windows lag (ODR ends 15 days back, tracking 10), but a seller also watches the
trailing days up to today — Amazon's 10- and 30-day late-shipment windows, the 7-day cancel
window, 60 days of orders for ODR (research notes §6) — so the same repair then runs over those
trailing windows, selected by each date that can pick the orders (order, ship-by, ship and
promised-delivery date), until each holds at most half the bad share its target allows: a
healthy seller sits well inside a limit, not on its edge.

Troubled accounts get the mirror image (:func:`calibrate_troubled`): a small seller drawn at
troubled rates can still have a clean month by luck, and a demo or test that shows "an account in
trouble" must show it every day it runs. So their trailing late-shipment, valid-tracking and
seller-fulfilled ODR windows are worsened, one order at a time, to at least twice the bad share
the target allows.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from seller_health.simulator.data import _CARRIERS, AccountData, SimEvent, SimOrder
from seller_health.simulator.health import performance_report, window

_MAX_REPAIRS = 500


def calibrate_healthy(data: AccountData, data_end: datetime) -> AccountData:
    day = data_end.date()
    for _ in range(_MAX_REPAIRS):
        metrics = performance_report(data, data_end)["performanceMetrics"][0]
        repaired = _repair_once(data, metrics, day, data_end)
        if repaired is None:
            break
        data = repaired
    for _ in range(_MAX_REPAIRS):
        repaired = _repair_trailing(data, data_end)
        if repaired is None:
            break
        data = repaired
    return data


def _with_order(data: AccountData, order: SimOrder) -> AccountData:
    orders = tuple(order if o.order_id == order.order_id else o for o in data.orders)
    return replace(data, orders=orders)


def _tracking_number(order_id: str) -> str:
    digits = int(hashlib.sha256(order_id.encode()).hexdigest(), 16) % 10**15
    return f"1Z{digits:015d}"


def _last_update(order: SimOrder) -> datetime:
    moments = [order.purchased_at, order.cancelled_at, order.shipped_at, order.delivered_at]
    return max(m for m in moments if m is not None)


def _repair_once(
    data: AccountData, metrics: dict[str, Any], day: date, data_end: datetime
) -> AccountData | None:
    """Fix one event behind the first BAD core metric; None when nothing is BAD (or fixable)."""
    for kind in ("mfn", "afn"):
        if metrics["orderDefectRate"][kind]["status"] == "BAD":
            odr = window(day, 60, lag=15)
            orders = {
                o.order_id
                for o in data.orders
                if o.is_mfn == (kind == "mfn") and odr.contains(o.purchased_at)
            }
            for event in data.events:
                if event.is_defect and event.order_id in orders:
                    kept = tuple(
                        e for e in data.events if not (e.order_id == event.order_id and e.is_defect)
                    )
                    return replace(data, events=kept)
    mfn = [o for o in data.orders if o.is_mfn]
    if metrics["preFulfillmentCancellationRate"]["status"] == "BAD":
        cancels = window(day, 7)
        for order in mfn:
            if cancels.contains(order.purchased_at) and order.cancelled_by in (
                "seller",
                "marketplace",
            ):
                return _with_order(
                    data, replace(order, cancelled_by="buyer", cancel_reason="BuyerCanceled")
                )
    if metrics["lateShipmentRate"]["status"] == "BAD":
        late = window(day, 30)
        for order in mfn:
            if (
                late.contains(order.ship_by)
                and order.shipped_at is not None
                and order.shipped_at > order.ship_by
            ):
                shipped = max(order.purchased_at, order.ship_by - timedelta(hours=3))
                fixed = replace(order, shipped_at=shipped)
                return _with_order(data, replace(fixed, last_updated_at=_last_update(fixed)))
    tracking = window(day, 30, lag=10)
    if metrics["validTrackingRate"]["status"] == "BAD":
        for order in mfn:
            if (
                tracking.contains(order.deliver_by)
                and order.shipped_at
                and not order.tracking_valid
            ):
                delivered = max(order.shipped_at + timedelta(hours=20), order.earliest_delivery)
                if delivered > min(order.deliver_by, data_end):
                    continue
                fixed = replace(
                    order,
                    tracking_valid=True,
                    tracking_id=_tracking_number(order.order_id),
                    delivered_at=delivered,
                    status="delivered",
                )
                return _with_order(data, replace(fixed, last_updated_at=_last_update(fixed)))
    if "BAD" in (
        metrics["onTimeDeliveryRate"]["status"],
        metrics["unitOnTimeDeliveryRate"]["status"],
    ):
        for order in mfn:
            if (
                tracking.contains(order.deliver_by)
                and order.tracking_valid
                and order.shipped_at is not None
                and (order.delivered_at is None or order.delivered_at > order.deliver_by)
            ):
                delivered = order.deliver_by - timedelta(hours=2)
                if delivered <= order.shipped_at or delivered > data_end:
                    continue
                fixed = replace(order, delivered_at=delivered, status="delivered")
                return _with_order(data, replace(fixed, last_updated_at=_last_update(fixed)))
    return None


#: Share of bad items a healthy seller stays under in a trailing window: half the target's.
_MARGIN = 0.5
#: Trailing windows get a day more than their length, so a check run minutes after ``data_end``
#: (or at a day boundary) sees the same clean window.
_PAD = timedelta(days=1)
#: How long after ``data_end`` a check may run and still count an order due by then (the demo
#: checks at the simulator's clock, five minutes after it).
_CHECK_DELAY = timedelta(hours=1)


def _trailing(data_end: datetime, days: int, moment: datetime | None) -> bool:
    return moment is not None and data_end - timedelta(days=days) - _PAD <= moment <= data_end


def _too_many(bad: list[SimOrder], total: int, allowed_share: float) -> bool:
    return bool(bad) and len(bad) > total * allowed_share * _MARGIN


def _repair_trailing(data: AccountData, data_end: datetime) -> AccountData | None:
    """Fix one bad item of the first trailing window over half its target; None when clean."""
    mfn = [o for o in data.orders if o.is_mfn]
    defective = {e.order_id for e in data.events if e.is_defect}
    for merchant in (True, False):
        orders = [
            o
            for o in data.orders
            if o.is_mfn == merchant and _trailing(data_end, 60, o.purchased_at)
        ]
        bad = [o for o in orders if o.order_id in defective]
        if _too_many(bad, len(orders), 0.01):
            drop = bad[-1].order_id
            kept = tuple(e for e in data.events if not (e.order_id == drop and e.is_defect))
            return replace(data, events=kept)
    recent = [o for o in mfn if _trailing(data_end, 7, o.purchased_at)]
    bad = [o for o in recent if o.cancelled_by in ("seller", "marketplace")]
    if _too_many(bad, len(recent), 0.025):
        return _with_order(
            data, replace(bad[-1], cancelled_by="buyer", cancel_reason="BuyerCanceled")
        )
    for days in (10, 30):
        due = [
            o
            for o in mfn
            if o.cancelled_at is None
            and o.ship_by <= data_end + _CHECK_DELAY
            and _trailing(data_end, days, min(o.ship_by, data_end))
        ]
        bad = [o for o in due if o.shipped_at is None or o.shipped_at > o.ship_by]
        if _too_many(bad, len(due), 0.04):
            carrier = _CARRIERS[data.market.region][0]
            return _with_order(data, _shipped_on_time(bad[-1], data_end, carrier))
    for select in ("shipped_at", "deliver_by"):
        shipped = [o for o in mfn if o.shipped_at and _trailing(data_end, 30, getattr(o, select))]
        bad = [o for o in shipped if not o.tracking_valid]
        if _too_many(bad, len(shipped), 0.05):
            return _with_order(data, _tracked(bad[-1], data_end))
    return None


def _shipped_on_time(order: SimOrder, data_end: datetime, carrier: tuple[str, str]) -> SimOrder:
    """The order confirmed before its ship-by time, with a tracking number that scans."""
    shipped = min(max(order.purchased_at, order.ship_by - timedelta(hours=3)), data_end)
    fixed = replace(
        order,
        shipped_at=shipped,
        status="delivered" if order.delivered_at else "shipped",
        carrier=order.carrier or carrier[0],
        shipping_service=order.shipping_service or carrier[1],
        package_id=order.package_id or f"PKG-{order.order_id}-1",
    )
    if fixed.delivered_at is not None and fixed.delivered_at <= shipped:
        fixed = replace(fixed, delivered_at=None, status="shipped")
    if not fixed.tracking_valid:
        fixed = _tracked(fixed, data_end)
    return replace(fixed, last_updated_at=_last_update(fixed))


def _tracked(order: SimOrder, data_end: datetime) -> SimOrder:
    """A valid tracking number; the carrier's delivery scan follows if it is due by now."""
    fixed = replace(order, tracking_valid=True, tracking_id=_tracking_number(order.order_id))
    assert order.shipped_at is not None
    delivered = max(order.shipped_at + timedelta(hours=20), order.earliest_delivery)
    if fixed.delivered_at is None and delivered <= min(order.deliver_by, data_end):
        fixed = replace(fixed, delivered_at=delivered, status="delivered")
    return replace(fixed, last_updated_at=_last_update(fixed))


#: A troubled seller's trailing windows hold at least this multiple of the target's bad share.
_TROUBLE = 2.0


def calibrate_troubled(data: AccountData, data_end: datetime) -> AccountData:
    for _ in range(_MAX_REPAIRS):
        worsened = _worsen_once(data, data_end)
        if worsened is None:
            break
        data = worsened
    return data


def _inside(data_end: datetime, days: int, moment: datetime | None, settle: int = 0) -> bool:
    """Strictly inside a trailing window (a day short at the old end), ``settle`` days old."""
    if moment is None:
        return False
    return data_end - timedelta(days=days - 1) <= moment <= data_end - timedelta(days=settle)


def _too_few(bad: int, total: int, allowed_share: float) -> bool:
    return total > 0 and bad < total * allowed_share * _TROUBLE


def _worsen_once(data: AccountData, data_end: datetime) -> AccountData | None:
    """Make one more order bad in the first trailing window under twice its target; None when
    every one is bad enough (or has nothing left to spoil)."""
    mfn = [o for o in data.orders if o.is_mfn]
    defective = {e.order_id for e in data.events if e.is_defect}
    odr = [o for o in mfn if _inside(data_end, 60, o.purchased_at)]
    if _too_few(sum(o.order_id in defective for o in odr), len(odr), 0.01):
        for order in odr:
            if order.order_id in defective or order.shipped_at is None:
                continue
            at = order.shipped_at + timedelta(days=3)
            if at <= data_end:
                return replace(data, events=(*data.events, _negative_feedback(order, at)))
    due = [o for o in mfn if o.cancelled_at is None and _inside(data_end, 30, o.ship_by)]
    late = [o for o in due if o.shipped_at is None or o.shipped_at > o.ship_by]
    if _too_few(len(late), len(due), 0.04):
        for order in due:
            # Only an order due 3 days back can be confirmed a day late by ``data_end``.
            settled = _inside(data_end, 30, order.ship_by, settle=3)
            if settled and order not in late and order.shipped_at is not None:
                return _with_order(data, _shipped_late(order, data_end))
    shipped = [o for o in mfn if _inside(data_end, 30, o.shipped_at)]
    untracked = [o for o in shipped if not o.tracking_valid]
    if _too_few(len(untracked), len(shipped), 0.05):
        for order in reversed(shipped):
            if order.tracking_valid:
                fixed = replace(order, tracking_valid=False, tracking_id="TBA", delivered_at=None)
                fixed = replace(fixed, status="shipped", last_updated_at=_last_update(fixed))
                return _with_order(data, fixed)
    return None


def _negative_feedback(order: SimOrder, at: datetime) -> SimEvent:
    return SimEvent(
        account=order.account,
        event_id="FE-" + hashlib.sha256(f"worse:{order.order_id}".encode()).hexdigest()[:8],
        order_id=order.order_id,
        kind="feedback",
        occurred_at=at.replace(microsecond=0),
        rating=1,
        comment="Arrived late and nobody answered my message.",
        rater_email=order.buyer_email,
        status="open",
    )


def _shipped_late(order: SimOrder, data_end: datetime) -> SimOrder:
    """Confirmed a day after its ship-by time; a delivery scan cannot come before the shipment."""
    shipped = min(order.ship_by + timedelta(hours=26), data_end)
    fixed = replace(order, shipped_at=shipped)
    if fixed.delivered_at is not None and fixed.delivered_at <= shipped:
        delivered = shipped + timedelta(days=2)
        fixed = (
            replace(fixed, delivered_at=delivered)
            if delivered <= data_end
            else replace(fixed, delivered_at=None, status="shipped")
        )
    return replace(fixed, last_updated_at=_last_update(fixed))
