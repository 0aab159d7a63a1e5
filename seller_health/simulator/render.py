"""Ground-truth orders rendered as the two Orders APIs send them.

v2026-01-01 (``Order`` in orders_2026-01-01.json): camelCase, Money is ``{amount, currencyCode}``,
and most of the order is opt-in through ``includedData`` — without FULFILLMENT there is no status
or MFN/AFN, without PACKAGES no tracking or ship time (packages exist for MFN orders only).
v0 (``Order`` in ordersV0.json): PascalCase, Money is ``{CurrencyCode, Amount}``, ship and
delivery windows only for seller-fulfilled orders, ``LatestDeliveryDate`` and ``OrderTotal``
absent on pending and cancelled orders, and no ship-confirmation time at all.

Malformed orders (``SimOrder.malformed``) lose a required field or get an impossible date here,
at the last moment, so filtering and paging still see the true values.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from seller_health.simulator.data import SimItem, SimOrder
from seller_health.simulator.marketplaces import Marketplace
from seller_health.simulator.responses import iso

STATUS_2026 = {
    "pending": "PENDING",
    "unshipped": "UNSHIPPED",
    "shipped": "SHIPPED",
    "delivered": "SHIPPED",
    "cancelled": "CANCELLED",
}
STATUS_V0 = {
    "pending": "Pending",
    "unshipped": "Unshipped",
    "shipped": "Shipped",
    "delivered": "Shipped",
    "cancelled": "Canceled",
}
SERVICE_LEVEL_2026 = {
    "Standard": "STANDARD",
    "Expedited": "EXPEDITED",
    "NextDay": "NEXT_DAY",
    "SecondDay": "SECOND_DAY",
}
CANCELLED_BY_2026 = {"buyer": "BUYER", "seller": "MERCHANT", "marketplace": "AMAZON"}
INCLUDED_DATA = (
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
)


def _bad_date(moment: datetime) -> str:
    """A date-time no parser accepts (day 32), but that looks plausible in a log."""
    return f"{moment:%Y-%m}-32T{moment:%H:%M:%S}Z"


def _break(order: SimOrder, document: dict[str, Any], field_index: int) -> dict[str, Any]:
    if order.malformed is None:
        return document
    kind, name = order.malformed[0], order.malformed[field_index]
    if kind == "missing_field":
        document.pop(name, None)
    else:
        document[name] = _bad_date(order.purchased_at)
    return document


def _money_2026(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount), "currencyCode": currency}


def _window(earliest: datetime, latest: datetime) -> dict[str, str]:
    return {"earliestDateTime": iso(earliest), "latestDateTime": iso(latest)}


def _shipped(order: SimOrder) -> bool:
    return order.status in ("shipped", "delivered")


def order_2026(order: SimOrder, market: Marketplace, included: frozenset[str]) -> dict[str, Any]:
    """``Order`` of searchOrders/getOrder v2026-01-01 with the requested datasets."""
    document: dict[str, Any] = {"orderId": order.order_id}
    if order.seller_order_id:
        document["orderAliases"] = [
            {"aliasId": order.seller_order_id, "aliasType": "SELLER_ORDER_ID"}
        ]
    document["createdTime"] = iso(order.purchased_at)
    document["lastUpdatedTime"] = iso(order.last_updated_at)
    programs = [
        p for p, on in (("PRIME", order.is_prime), ("AMAZON_BUSINESS", order.is_business)) if on
    ]
    if programs:
        document["programs"] = programs
    document["salesChannel"] = {
        "channelName": "AMAZON",
        "marketplaceId": order.marketplace_id,
        "marketplaceName": market.name,
    }
    if "BUYER" in included:
        buyer = {"buyerName": order.buyer_name}
        if order.is_mfn:  # the model: buyerEmail only for merchant-fulfilled orders
            buyer["buyerEmail"] = order.buyer_email
        document["buyer"] = buyer
    if "RECIPIENT" in included and order.status not in ("pending", "cancelled"):
        document["recipient"] = {
            "deliveryAddress": {
                "name": order.buyer_name,
                "city": order.ship_to_city,
                "stateOrRegion": order.ship_to_region,
                "postalCode": order.ship_to_postal_code,
                "countryCode": market.country,
                "addressType": "RESIDENTIAL",
            }
        }
    if "PROCEEDS" in included and order.status not in ("pending", "cancelled"):
        items_total = order.total - order.shipping_charge
        document["proceeds"] = {
            "grandTotal": _money_2026(order.total, order.currency),
            "breakdowns": [
                {"type": "ITEM", "subtotal": _money_2026(items_total, order.currency)},
                {
                    "type": "SHIPPING",
                    "subtotal": _money_2026(order.shipping_charge, order.currency),
                },
            ],
        }
    if "FULFILLMENT" in included:
        fulfillment: dict[str, Any] = {
            "fulfillmentStatus": STATUS_2026[order.status],
            "fulfilledBy": "MERCHANT" if order.is_mfn else "AMAZON",
            "fulfillmentServiceLevel": SERVICE_LEVEL_2026[order.service_level],
            "shipByWindow": _window(order.earliest_ship, order.ship_by),
        }
        if order.status not in ("pending", "cancelled"):
            fulfillment["deliverByWindow"] = _window(order.earliest_delivery, order.deliver_by)
        document["fulfillment"] = fulfillment
    document["orderItems"] = [_item_2026(order, item, included) for item in order.items]
    if "PACKAGES" in included and order.is_mfn and order.package_id and order.shipped_at:
        document["packages"] = [_package_2026(order)]
    return _break(order, document, 1)


def _item_2026(order: SimOrder, item: SimItem, included: frozenset[str]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "orderItemId": item.order_item_id,
        "quantityOrdered": item.quantity,
        "product": {
            "asin": item.asin,
            "title": item.title,
            "sellerSku": item.seller_sku,
            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
            "price": {"unitPrice": _money_2026(item.unit_price, order.currency)},
        },
    }
    if "PROCEEDS" in included and order.status not in ("pending", "cancelled"):
        line = item.unit_price * item.quantity
        document["proceeds"] = {
            "proceedsTotal": _money_2026(line, order.currency),
            "breakdowns": [{"type": "ITEM", "subtotal": _money_2026(line, order.currency)}],
        }
    if "CANCELLATION" in included and order.cancelled_by is not None:
        cancellation: dict[str, Any] = {}
        if order.cancelled_by == "buyer":
            cancellation["cancellationRequest"] = {
                "requester": "BUYER",
                "cancelReason": order.cancel_reason or "",
            }
        cancellation["cancellationExecution"] = {
            "cancelledBy": CANCELLED_BY_2026[order.cancelled_by],
            "cancelReason": order.cancel_reason or "",
        }
        document["cancellation"] = cancellation
    if "FULFILLMENT" in included:
        shipped = _shipped(order)
        open_order = order.status in ("pending", "unshipped")
        fulfillment: dict[str, Any] = {
            "quantityFulfilled": item.quantity if shipped else 0,
            "quantityUnfulfilled": item.quantity if open_order else 0,
        }
        if order.status not in ("pending", "cancelled"):
            fulfillment["shipping"] = {
                "scheduledDeliveryWindow": _window(order.earliest_delivery, order.deliver_by)
            }
        document["fulfillment"] = fulfillment
    return document


def _package_2026(order: SimOrder) -> dict[str, Any]:
    assert order.shipped_at is not None
    if order.delivered_at is not None:
        status, detail = "DELIVERED", "DELIVERED"
    elif order.tracking_valid:
        status, detail = "IN_TRANSIT", "PICKED_UP"
    else:
        status, detail = "SHIPPED", "DROPPED_OFF"  # no carrier scan has been seen
    created = max(order.purchased_at, order.shipped_at - timedelta(minutes=45))
    package: dict[str, Any] = {
        "packageReferenceId": "1",
        "createdTime": iso(created),
        "packageStatus": {"status": status, "detailedStatus": detail},
        "carrier": order.carrier,
        "shipTime": iso(order.shipped_at),
        "shippingService": order.shipping_service,
    }
    if order.tracking_id:
        package["trackingNumber"] = order.tracking_id
    package["packageItems"] = [
        {"orderItemId": item.order_item_id, "quantity": item.quantity} for item in order.items
    ]
    return package


def _ship_service_level(order: SimOrder, market: Marketplace) -> str:
    if order.service_level == "Standard":
        return "Std US D2D Dom" if market.country == "US" else f"Std {market.country} Dom"
    if order.service_level == "Expedited":
        return f"Exp {market.country} Dom"
    return order.service_level


def order_v0(order: SimOrder, market: Marketplace) -> dict[str, Any]:
    """``Order`` of getOrders v0 (no restricted data: only what an LWA token may see)."""
    shipped = _shipped(order)
    units = order.units
    document: dict[str, Any] = {"AmazonOrderId": order.order_id}
    if order.seller_order_id:
        document["SellerOrderId"] = order.seller_order_id
    document.update(
        {
            "PurchaseDate": iso(order.purchased_at),
            "LastUpdateDate": iso(order.last_updated_at),
            "OrderStatus": STATUS_V0[order.status],
            "FulfillmentChannel": "MFN" if order.is_mfn else "AFN",
            "SalesChannel": market.name,
            "ShipServiceLevel": _ship_service_level(order, market),
        }
    )
    if order.status not in ("pending", "cancelled"):
        document["OrderTotal"] = {"CurrencyCode": order.currency, "Amount": str(order.total)}
    document.update(
        {
            "NumberOfItemsShipped": units if shipped else 0,
            "NumberOfItemsUnshipped": units if order.status in ("pending", "unshipped") else 0,
            "PaymentMethod": "Other",
            "PaymentMethodDetails": ["Standard"],
            "MarketplaceId": order.marketplace_id,
            "ShipmentServiceLevelCategory": order.service_level,
            "OrderType": "StandardOrder",
        }
    )
    if order.is_mfn:
        document["EarliestShipDate"] = iso(order.earliest_ship)
        document["LatestShipDate"] = iso(order.ship_by)
        document["EarliestDeliveryDate"] = iso(order.earliest_delivery)
        if order.status not in ("pending", "cancelled"):
            document["LatestDeliveryDate"] = iso(order.deliver_by)
    document.update(
        {
            "IsBusinessOrder": order.is_business,
            "IsPrime": order.is_prime,
            "IsPremiumOrder": False,
            "IsGlobalExpressEnabled": False,
            "IsReplacementOrder": False,
            "IsSoldByAB": False,
            "IsISPU": False,
            "IsAccessPointOrder": False,
            "HasRegulatedItems": False,
        }
    )
    if order.status in ("unshipped", "shipped", "delivered"):
        document["ShippingAddress"] = {
            "City": order.ship_to_city,
            "StateOrRegion": order.ship_to_region,
            "PostalCode": order.ship_to_postal_code,
            "CountryCode": market.country,
        }
    if order.is_mfn and order.status != "pending":
        document["BuyerInfo"] = {"BuyerEmail": order.buyer_email}
        document["AutomatedShippingSettings"] = {"HasAutomatedShippingSettings": False}
    return _break(order, document, 2)
