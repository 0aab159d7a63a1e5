"""Compact test data: insert records with sensible defaults, instants relative to a fixed T."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from seller_health.store.models import Account, Event, Message, Order

T = datetime(2026, 11, 1, tzinfo=UTC)


def ago(days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    return T - timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


class Seller:
    """Buffers rows for one account and writes them with :meth:`save`."""

    def __init__(self, account_id: str = "acct", marketplace: str = "amazon", **extra: Any) -> None:
        self.account_id = account_id
        self.account = {"account_id": account_id, "marketplace": marketplace, **extra}
        self.orders: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def order(self, order_id: str, purchased_at: datetime, **fields: Any) -> Seller:
        row = {"status": "shipped", "fulfillment": "merchant", **fields}
        self.orders.append(
            {
                "account_id": self.account_id,
                "order_id": order_id,
                "purchased_at": purchased_at,
                **row,
            }
        )
        return self

    def message(
        self, message_id: str, thread_id: str, sent_at: datetime, direction: str, **fields: Any
    ) -> Seller:
        self.messages.append(
            {
                "account_id": self.account_id,
                "message_id": message_id,
                "thread_id": thread_id,
                "sent_at": sent_at,
                "direction": direction,
                "channel": "marketplace",
                **fields,
            }
        )
        return self

    def event(self, event_id: str, kind: str, occurred_at: datetime, **fields: Any) -> Seller:
        self.events.append(
            {
                "account_id": self.account_id,
                "event_id": event_id,
                "kind": kind,
                "occurred_at": occurred_at,
                **fields,
            }
        )
        return self

    def save(self, engine: Engine, *, account: bool = True) -> Seller:
        """Write the rows; ``account=False`` adds records to an account saved before."""
        with engine.begin() as conn:
            if account:
                conn.execute(
                    insert(Account.__table__),
                    [{"locale": "en", "timezone": "UTC", **self.account}],
                )
            for table, rows in (
                (Order, self.orders),
                (Message, self.messages),
                (Event, self.events),
            ):
                if rows:
                    keys = sorted({k for r in rows for k in r})
                    conn.execute(
                        insert(table.__table__), [{k: r.get(k) for k in keys} for r in rows]
                    )
        return self
