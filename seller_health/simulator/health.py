"""Account-health figures computed from the seeded orders: GET_V2_SELLER_PERFORMANCE_REPORT.

The document follows the JSON schema ``accountHealthReport-2020-11-18.json`` (the schema's key
names, not the example's misspellings: ``preFulfillmentCancellationRate``, ``warningStates``,
``documentRequests``; ``accountHealthRating`` carries ``ahrStatus``, the key the schema requires
and the examples use). Every count is recomputed from ``SimOrder``/``SimEvent`` records, so a
connector test can check that the figures it imported match what the orders imply.

Windows copy the schema example's shape relative to the report date D (UTC): late shipment and
pre-fulfilment cancellation end on D-1 (30 and 7 days); valid tracking and on-time delivery end
ten days earlier (30 days, selected by promised delivery date); ODR covers 60 days ending 15 days
before D-1, by order date; the rating and listing counts cover 180 days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from seller_health.simulator.data import AccountData, SimEvent, SimOrder

#: Targets the simulator publishes. Connectors must read ``targetValue`` from the report rather
#: than hard-code Amazon's help-page numbers (the schema example itself uses 0.01 for cancels).
TARGETS = {
    "orderDefectRate": (0.01, "LESS_THAN"),
    "lateShipmentRate": (0.04, "LESS_THAN"),
    "preFulfillmentCancellationRate": (0.025, "LESS_THAN"),
    "validTrackingRate": (0.95, "GREATER_THAN"),
    "onTimeDeliveryRate": (0.95, "GREATER_THAN"),
    "unitOnTimeDeliveryRate": (0.9, "GREATER_THAN"),
    "invoiceDefectRate": (0.05, "LESS_THAN"),
}

LISTING_METRICS = (
    "listingPolicyViolations",
    "productAuthenticityCustomerComplaints",
    "productConditionCustomerComplaints",
    "productSafetyCustomerComplaints",
    "receivedIntellectualPropertyComplaints",
    "restrictedProductPolicyViolations",
    "suspectedIntellectualPropertyViolations",
    "foodAndProductSafetyIssues",
    "otherPolicyViolations",
    "documentRequests",
)


@dataclass(frozen=True)
class Window:
    first: date
    last: date

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.first <= moment.astimezone(UTC).date() <= self.last

    def as_json(self) -> dict[str, str]:
        # Minute precision with Z, as in the schema example ("2020-09-06T00:00Z").
        return {
            "reportingDateFrom": f"{self.first.isoformat()}T00:00Z",
            "reportingDateTo": f"{self.last.isoformat()}T23:59Z",
        }


def window(report_day: date, days: int, lag: int = 0) -> Window:
    last = report_day - timedelta(days=1 + lag)
    return Window(last - timedelta(days=days - 1), last)


def status(rate: float, count: int, metric: str) -> str:
    target, condition = TARGETS[metric]
    if count == 0:
        return "NONE"
    good = rate < target if condition == "LESS_THAN" else rate > target
    return "GOOD" if good else "BAD"


def _rate(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 6) if denominator else 0.0


def _rated(metric: str, extra: dict[str, Any], numerator: int, denominator: int) -> dict[str, Any]:
    rate = _rate(numerator, denominator)
    target, condition = TARGETS[metric]
    return {
        **extra,
        "status": status(rate, denominator, metric),
        "rate": rate,
        "targetValue": target,
        "targetCondition": condition,
    }


def _count(items: Iterable[object], predicate: Callable[[Any], bool]) -> int:
    return sum(1 for item in items if predicate(item))


def performance_report(data: AccountData, at: datetime) -> dict[str, Any]:
    """The report document for one account as of ``at`` (the report's creation time)."""
    day = at.astimezone(UTC).date()
    orders = [o for o in data.orders if o.status != "pending"]
    mfn = [o for o in orders if o.is_mfn]
    defects_by_order: dict[str, list[SimEvent]] = {}
    for event in data.events:
        if event.is_defect and event.occurred_at <= at:
            defects_by_order.setdefault(event.order_id, []).append(event)

    odr_window = window(day, 60, lag=15)
    odr = {
        kind: _odr(
            [o for o in orders if o.is_mfn == (kind == "mfn")], defects_by_order, odr_window, kind
        )
        for kind in ("mfn", "afn")
    }

    lsr_window = window(day, 30)
    lsr_orders = [o for o in mfn if o.status != "cancelled" and lsr_window.contains(o.ship_by)]
    late = _count(lsr_orders, lambda o: o.shipped_at is None or o.shipped_at > o.ship_by)

    cancel_window = window(day, 7)
    cancel_orders = [o for o in mfn if cancel_window.contains(o.purchased_at)]
    seller_cancels = _count(cancel_orders, lambda o: o.cancelled_by in ("seller", "marketplace"))

    tracking_window = window(day, 30, lag=10)
    shipments = [
        o for o in mfn if o.shipped_at is not None and tracking_window.contains(o.deliver_by)
    ]
    tracked = [o for o in shipments if o.tracking_valid]
    on_time = [o for o in tracked if o.delivered_at is not None and o.delivered_at <= o.deliver_by]

    invoice_window = window(day, 7)
    invoice_orders = _count(mfn, lambda o: invoice_window.contains(o.purchased_at))

    bad_core = any(
        value["status"] == "BAD"
        for value in (
            odr["mfn"],
            odr["afn"],
            _rated("lateShipmentRate", {}, late, len(lsr_orders)),
            _rated("preFulfillmentCancellationRate", {}, seller_cancels, len(cancel_orders)),
            _rated("validTrackingRate", {}, len(tracked), len(shipments)),
        )
    )
    rating_window = window(day, 180)
    metrics: dict[str, Any] = {
        "marketplaceId": data.market.marketplace_id,
        "orderDefectRate": odr,
        "lateShipmentRate": _rated(
            "lateShipmentRate",
            {
                "reportingDateRange": lsr_window.as_json(),
                "orderCount": len(lsr_orders),
                "lateShipmentCount": late,
            },
            late,
            len(lsr_orders),
        ),
        "preFulfillmentCancellationRate": _rated(
            "preFulfillmentCancellationRate",
            {
                "reportingDateRange": cancel_window.as_json(),
                "orderCount": len(cancel_orders),
                "cancellationCount": seller_cancels,
            },
            seller_cancels,
            len(cancel_orders),
        ),
        "validTrackingRate": _rated(
            "validTrackingRate",
            {
                "reportingDateRange": tracking_window.as_json(),
                "shipmentCount": len(shipments),
                "validTrackingCount": len(tracked),
            },
            len(tracked),
            len(shipments),
        ),
        "onTimeDeliveryRate": _rated(
            "onTimeDeliveryRate",
            {
                "reportingDateRange": tracking_window.as_json(),
                "shipmentCountWithValidTracking": len(tracked),
                "onTimeDeliveryCount": len(on_time),
            },
            len(on_time),
            len(tracked),
        ),
        "unitOnTimeDeliveryRate": _rated(
            "unitOnTimeDeliveryRate",
            {
                "reportingDateRange": tracking_window.as_json(),
                "unitOnTimeDeliveryCount": sum(o.units for o in on_time),
                "totalUnitCount": sum(o.units for o in tracked),
            },
            sum(o.units for o in on_time),
            sum(o.units for o in tracked),
        ),
        "invoiceDefectRate": _rated(
            "invoiceDefectRate",
            {
                "reportingDateRange": invoice_window.as_json(),
                "orderCount": invoice_orders,
                "invoiceDefect": {"count": 0, "status": "NONE"},
                "missingInvoice": {"count": 0, "status": "NONE"},
                "lateInvoice": {"count": 0, "status": "NONE"},
            },
            0,
            invoice_orders,
        ),
        "warningStates": [],
        "accountHealthRating": {
            "ahrStatus": "WARNED" if bad_core or data.listing_violations else "GREAT",
            "reportingDateRange": rating_window.as_json(),
        },
    }
    for name in LISTING_METRICS:
        count = data.listing_violations if name == "listingPolicyViolations" else 0
        metrics[name] = {
            "reportingDateRange": rating_window.as_json(),
            "defectsCount": count,
            "status": "BAD" if count else "GOOD",
            "targetValue": 0,
            "targetCondition": "EQUALS",
        }
    return {
        "accountStatuses": [
            {
                "marketplaceId": data.market.marketplace_id,
                "status": "AT_RISK" if bad_core else "NORMAL",
            }
        ],
        "performanceMetrics": [metrics],
    }


def _odr(
    orders: list[SimOrder],
    defects_by_order: dict[str, list[SimEvent]],
    odr_window: Window,
    kind: str,
) -> dict[str, Any]:
    """One ODR block; an order with several defects counts once in ``orderWithDefects``."""
    in_window = [o for o in orders if odr_window.contains(o.purchased_at)]
    defects = [defects_by_order.get(o.order_id, []) for o in in_window]
    with_defects = sum(1 for events in defects if events)

    def orders_with(kind_name: str) -> int:
        return sum(1 for events in defects if any(e.kind == kind_name for e in events))

    block = _rated(
        "orderDefectRate",
        {
            "reportingDateRange": odr_window.as_json(),
            "orderCount": len(in_window),
            "claims": {"count": orders_with("a_to_z_claim"), "status": "NONE"},
            "chargebacks": {"count": orders_with("chargeback"), "status": "NONE"},
            "negativeFeedback": {"count": orders_with("feedback"), "status": "NONE"},
            "fulfillmentType": kind,
        },
        with_defects,
        len(in_window),
    )
    block["orderWithDefects"] = {"count": with_defects, "status": block["status"]}
    return block
