"""ToyMart: a marketplace that exists only in this test, added the way a plugin distribution
adds one: its connector (settings, streams) and its rule pack, registered by entry points."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from seller_health.connectors.base import Fetched, Rejected
from seller_health.connectors.registry import ConnectorPlugin
from seller_health.settings import ConnectedAccount

T = datetime(2026, 11, 1, tzinfo=UTC)


class ToyAccount(ConnectedAccount):
    marketplace: Literal["toymart"]
    shop: str


class Calls:
    requests = throttled = retried = 0


class ToyConnector:
    """Ten orders in the 30 days before T, three of them cancelled by the seller, one record
    that cannot be read; served in two pages, the first with a token for the second."""

    marketplace = "toymart"
    settle = timedelta(0)
    unknown_fields = frozenset({"tracking_valid"})
    streams = ("orders", "events")
    reports = ()

    def __init__(self, account_id: str, settings: ToyAccount) -> None:
        self.account_id, self.shop = account_id, settings.shop
        self.stats = Calls()

    def orders(
        self, updated_after: datetime, updated_before: datetime, resume: str | None = None
    ) -> Iterator[Fetched]:
        records = []
        for i in range(10):
            bought = T - timedelta(days=2 + i)
            cancelled = i < 3
            records.append(
                {
                    "order_id": f"{self.shop}-{i}",
                    "purchased_at": bought,
                    "status": "cancelled" if cancelled else "shipped",
                    "fulfillment": "merchant",
                    "cancelled_at": bought + timedelta(hours=1) if cancelled else None,
                    "cancelled_by": "seller" if cancelled else None,
                }
            )
        records = [r for r in records if updated_after <= r["purchased_at"] < updated_before]
        if resume is None:
            self.stats.requests += 1
            yield Fetched(records[:5], resume="page-2")
        self.stats.requests += 1
        bad = Rejected(f"{self.shop}-x", "purchased_at: not a date", {"id": f"{self.shop}-x"})
        yield Fetched(records[5:], [bad])

    def events(
        self, updated_after: datetime, updated_before: datetime, resume: str | None = None
    ) -> Iterator[Fetched]:
        """Two 1-star ratings of cancelled orders: a second paged stream, stored as events."""
        self.stats.requests += 1
        yield Fetched(
            [
                {
                    "event_id": f"{self.shop}-fb{i}",
                    "order_id": f"{self.shop}-{i}",
                    "kind": "feedback",
                    "occurred_at": T - timedelta(days=1 + i),
                    "rating": 1,
                }
                for i in range(2)
                if updated_after <= T - timedelta(days=1 + i) < updated_before
            ]
        )


PLUGIN = ConnectorPlugin(
    marketplace="toymart",
    settings=ToyAccount,
    connect=lambda account_id, settings, sleep: ToyConnector(account_id, settings),
)
PACK = str(Path(__file__).with_name("toymart.yaml"))
