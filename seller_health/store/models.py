"""Tables. Seller records mirror the import format (``import-format.md``) column for column.

Instants are :class:`~seller_health.store.types.Instant` (integer microseconds), money is
:class:`~seller_health.store.types.Money`. Ids are unique per account, so every seller table is
keyed by ``(account_id, <id>)``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from seller_health.store.types import Instant, Money

# Ids and codes compare and sort in plain byte order on PostgreSQL too, as on SQLite.
TEXT = String().with_variant(String(collation="C"), "postgresql")


def text(*, primary_key: bool = False, default: str | None = None) -> Any:
    return Field(default=default, sa_type=TEXT, primary_key=primary_key)


def instant(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=Instant, nullable=nullable, index=index)


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    account_id: str = text(primary_key=True)
    marketplace: str = text()
    name: str | None = text()
    email: str | None = text()
    locale: str = text(default="en")
    timezone: str = text(default="UTC")


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    # Windows selected by ship_by, shipped_at or deliver_by scan an account's orders through the
    # primary key: measured, that costs the check less than those indexes cost every import.
    __table_args__ = (Index("ix_orders_purchased", "account_id", "purchased_at"),)

    account_id: str = text(primary_key=True)
    order_id: str = text(primary_key=True)
    purchased_at: datetime = Field(sa_type=Instant, nullable=False)
    status: str = text()
    fulfillment: str = text()
    ship_by: datetime | None = instant()
    shipped_at: datetime | None = instant()
    deliver_by: datetime | None = instant()
    delivered_at: datetime | None = instant()
    tracking_id: str | None = text()
    tracking_valid: bool | None = None
    cancelled_at: datetime | None = instant()
    cancelled_by: str | None = text()
    refunded_at: datetime | None = instant()
    buyer_id: str | None = text()
    total: Decimal | None = Field(default=None, sa_type=Money)
    currency: str | None = text()


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_thread", "account_id", "thread_id", "sent_at"),
        Index("ix_messages_sent", "account_id", "sent_at"),
    )

    account_id: str = text(primary_key=True)
    message_id: str = text(primary_key=True)
    thread_id: str = text()
    sent_at: datetime = Field(sa_type=Instant, nullable=False)
    direction: str = text()
    order_id: str | None = text()
    needs_reply: bool | None = None
    channel: str = text(default="marketplace")
    resolved_at: datetime | None = instant()
    agent: str | None = text()
    automated: bool | None = None


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_order", "account_id", "order_id"),
        Index("ix_events_occurred", "account_id", "occurred_at"),
    )

    account_id: str = text(primary_key=True)
    event_id: str = text(primary_key=True)
    order_id: str | None = text()
    kind: str = text()
    occurred_at: datetime = Field(sa_type=Instant, nullable=False)
    rating: int | None = None
    survey: str | None = text()
    status: str | None = text()
    closed_without_seller_resolution: bool | None = None
    responded_at: datetime | None = instant()


class CheckRun(SQLModel, table=True):
    """One evaluation: which rules, at which ``as_of``; its results are kept for trends."""

    __tablename__ = "check_runs"

    run_id: int | None = Field(default=None, primary_key=True)
    as_of: datetime = Field(sa_type=Instant, nullable=False, index=True)
    started_at: datetime = Field(sa_type=Instant, nullable=False)
    finished_at: datetime | None = instant()
    rules: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class AccountResult(SQLModel, table=True):
    __tablename__ = "account_results"

    run_id: int = Field(primary_key=True, foreign_key="check_runs.run_id")
    account_id: str = Field(primary_key=True, index=True)
    marketplace: str
    status: str
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class RuleResult(SQLModel, table=True):
    """A rule's verdict for one account in one run, with everything the report contract needs."""

    __tablename__ = "rule_results"
    __table_args__ = (Index("ix_rule_results_account_rule", "account_id", "rule_id"),)

    run_id: int = Field(primary_key=True, foreign_key="check_runs.run_id")
    account_id: str = Field(primary_key=True)
    rule_id: str = Field(primary_key=True)
    status: str
    value: float | None = None
    numerator: int | None = None
    denominator: int | None = None
    headroom: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SyncBookmark(SQLModel, table=True):
    """How far a stream of an account has been synced, and work in flight (a report id)."""

    __tablename__ = "sync_bookmarks"

    account_id: str = text(primary_key=True)
    stream: str = text(primary_key=True)
    cursor: datetime | None = instant()
    pending: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_type=Instant, nullable=False)


class Quarantined(SQLModel, table=True):
    """A record a source sent that could not be understood: kept raw with the reason, counted
    in the sync summary, never silently dropped."""

    __tablename__ = "quarantine"

    account_id: str = text(primary_key=True)
    stream: str = text(primary_key=True)
    record_key: str = text(primary_key=True)
    reason: str = text()
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    quarantined_at: datetime = Field(sa_type=Instant, nullable=False)


class OfficialMetric(SQLModel, table=True):
    """A marketplace's own figure for a rule (Amazon's Account Health report), shown beside ours;
    its target replaces the pack's default for that account."""

    __tablename__ = "official_metrics"

    account_id: str = text(primary_key=True)
    rule_id: str = text(primary_key=True)
    value: float | None = None
    target: float | None = None
    status: str | None = text()
    numerator: int | None = None
    denominator: int | None = None
    window_start: datetime | None = instant()
    window_end: datetime | None = instant()
    source: str = text()
    fetched_at: datetime = Field(sa_type=Instant, nullable=False)


class AlertState(SQLModel, table=True):
    """What alerts last observed of one subject of an account: the account's status
    (``status``), a rule (its id) or a data source (``source:<stream>``), since when, and the
    state that has held long enough to be told (``confirmed``). See
    ``seller_health/notify/alerts.py``.
    """

    __tablename__ = "alert_states"

    account_id: str = text(primary_key=True)
    subject: str = text(primary_key=True)
    state: str = text()  # as last observed
    since: datetime = Field(sa_type=Instant, nullable=False)  # first observed in ``state``
    # since when ``state`` has been on the same side (worse, better) of ``confirmed``
    away_since: datetime = Field(sa_type=Instant, nullable=False)
    confirmed: str = text()  # the state alerts speak of: ``state`` once it held for ``for:``
    detail: str | None = text()  # a failing source's finding


class AlertNotice(SQLModel, table=True):
    """What one recipient was last told about an account, so a change is mailed to each reader
    once: a send that fails leaves it as it was, to be tried again."""

    __tablename__ = "alert_notices"

    account_id: str = text(primary_key=True)
    recipient: str = text(primary_key=True)  # "" records decisions for an account nobody reads
    status: str | None = text()  # the account's alert level told (None: not checked yet)
    rules: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sources: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    notified_at: datetime | None = instant()  # None: a baseline, nothing mailed yet
    # baseline | sending (in the outbox) | sent | partial | uncertain | no_recipient | no_smtp
    # | disabled
    outcome: str = text()
