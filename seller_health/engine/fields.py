"""What each record set offers to rules: its fields and their kinds.

Kinds decide what a rule may do with a field: ``happened`` fields are instants that count only
before ``as_of`` (a shipment at or after T has not happened yet); ``instant`` fields are
selecting instants or promises (``ship_by``) taken as they are.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    BOOL = "bool"
    INT = "int"
    MONEY = "money"
    INSTANT = "instant"
    HAPPENED = "happened"

    @property
    def is_instant(self) -> bool:
        return self in (Kind.INSTANT, Kind.HAPPENED)

    @property
    def is_number(self) -> bool:
        return self in (Kind.INT, Kind.MONEY)


T, B, N, M, AT, HAP = Kind.TEXT, Kind.BOOL, Kind.INT, Kind.MONEY, Kind.INSTANT, Kind.HAPPENED

ORDER_FIELDS = {
    "order_id": T,
    "purchased_at": AT,
    "status": T,
    "fulfillment": T,
    "ship_by": AT,
    "shipped_at": HAP,
    "deliver_by": AT,
    "delivered_at": HAP,
    "tracking_id": T,
    "tracking_valid": B,
    "cancelled_at": HAP,
    "cancelled_by": T,
    "refunded_at": HAP,
    "buyer_id": T,
    "total": M,
    "currency": T,
}
EVENT_FIELDS = {
    "event_id": T,
    "order_id": T,
    "kind": T,
    "occurred_at": AT,
    "rating": N,
    "survey": T,
    "status": T,
    "closed_without_seller_resolution": B,
    "responded_at": HAP,
}
MESSAGE_FIELDS = {
    "message_id": T,
    "thread_id": T,
    "sent_at": AT,
    "direction": T,
    "order_id": T,
    "needs_reply": B,
    "channel": T,
    "resolved_at": HAP,
    "agent": T,
    "automated": B,
}
THREAD_FIELDS = {
    "thread_id": T,
    "first_message_at": AT,
    "first_inbound_at": AT,
    "first_inbound_needs_reply": B,
    "first_inbound_reply_at": HAP,
    "latest_inbound_at": AT,
    "latest_inbound_needs_reply": B,
    "latest_inbound_reply_at": HAP,
    "resolved_at": HAP,
}
BUYER_FIELDS = {"buyer_id": T, "first_purchased_at": AT, "last_purchased_at": AT, "orders_365d": N}

RECORD_SETS: dict[str, dict[str, Kind]] = {
    "orders": ORDER_FIELDS,
    "events": EVENT_FIELDS,
    "inbound_messages": MESSAGE_FIELDS | {"reply_at": HAP},
    "outbound_messages": MESSAGE_FIELDS,
    "threads": THREAD_FIELDS,
    "buyers": BUYER_FIELDS,
}

ID_FIELD = {
    "orders": "order_id",
    "events": "event_id",
    "inbound_messages": "message_id",
    "outbound_messages": "message_id",
    "threads": "thread_id",
    "buyers": "buyer_id",
}
