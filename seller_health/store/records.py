"""The stored records behind a result's evidence ids, and their timelines, for reports.

Results keep only ids (``orders``, ``events``, ``inbound_messages``, ``threads``, ``buyers``);
a report shows what those records are. Reads are batched per account and record set, so a
thousand account reports cost a few thousand indexed lookups, not one per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from seller_health.model.results import N_
from seller_health.store.models import (
    Account,
    Event,
    Message,
    OfficialMetric,
    Order,
    Quarantined,
    SyncBookmark,
)

ORDERS, MESSAGES, EVENTS = Order.__table__, Message.__table__, Event.__table__
# The problem of a quarantined stream, marked for the catalogs: the audit pack translates it.
UNREADABLE = N_("unreadable records")
_CHUNK = 500  # ids per IN (...) list: well below every database's parameter limit


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


def _as_known(row: Any, as_of: datetime) -> dict[str, Any]:
    """The record as it stood at ``as_of``: what had not happened yet is blank."""
    return {k: None if isinstance(v, datetime) and v >= as_of else v for k, v in row.items()}


def _rows(
    conn: Connection, table: Any, key: str, account_id: str, ids: Sequence[str], as_of: datetime
) -> dict:
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        query = select(table).where(table.c.account_id == account_id, table.c[key].in_(chunk))
        for row in conn.execute(query).mappings():
            found[row[key]] = _as_known(row, as_of)
    return found


def _first_replies(
    conn: Connection, account_id: str, messages: dict[str, dict], as_of: datetime
) -> None:
    """Adds ``replied_at``: the first outbound message of the thread after each message."""
    threads = sorted({m["thread_id"] for m in messages.values()})
    outbound: dict[str, list[datetime]] = defaultdict(list)
    for chunk in _chunks(threads):
        query = (
            select(MESSAGES.c.thread_id, MESSAGES.c.sent_at)
            .where(
                MESSAGES.c.account_id == account_id,
                MESSAGES.c.thread_id.in_(chunk),
                MESSAGES.c.direction == "out",
                MESSAGES.c.sent_at < as_of,
            )
            .order_by(MESSAGES.c.thread_id, MESSAGES.c.sent_at)
        )
        for thread_id, sent_at in conn.execute(query):
            outbound[thread_id].append(sent_at)
    for message in messages.values():
        later = [t for t in outbound[message["thread_id"]] if t > message["sent_at"]]
        message["replied_at"] = later[0] if later else None


def _threads(
    conn: Connection, account_id: str, ids: Sequence[str], as_of: datetime
) -> dict[str, dict]:
    found: dict[str, dict[str, Any]] = {}
    inbound = func.sum(case((MESSAGES.c.direction == "in", 1), else_=0))
    for chunk in _chunks(ids):
        query = (
            select(
                MESSAGES.c.thread_id,
                func.min(MESSAGES.c.sent_at).label("started_at"),
                func.max(MESSAGES.c.sent_at).label("last_at"),
                func.count().label("messages"),
                inbound.label("inbound"),
                func.max(
                    case((MESSAGES.c.resolved_at < as_of, MESSAGES.c.resolved_at), else_=None)
                ).label("resolved_at"),
                func.max(MESSAGES.c.order_id).label("order_id"),
                func.max(MESSAGES.c.channel).label("channel"),
            )
            .where(
                MESSAGES.c.account_id == account_id,
                MESSAGES.c.thread_id.in_(chunk),
                MESSAGES.c.sent_at < as_of,
            )
            .group_by(MESSAGES.c.thread_id)
        )
        for row in conn.execute(query).mappings():
            found[row["thread_id"]] = _as_known(row, as_of)
    return found


def _buyers(
    conn: Connection, account_id: str, ids: Sequence[str], as_of: datetime
) -> dict[str, dict]:
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        query = (
            select(
                ORDERS.c.buyer_id,
                func.count().label("orders"),
                func.min(ORDERS.c.purchased_at).label("first_purchase"),
                func.max(ORDERS.c.purchased_at).label("last_purchase"),
            )
            .where(
                ORDERS.c.account_id == account_id,
                ORDERS.c.buyer_id.in_(chunk),
                ORDERS.c.purchased_at < as_of,
            )
            .group_by(ORDERS.c.buyer_id)
        )
        for row in conn.execute(query).mappings():
            found[row["buyer_id"]] = dict(row)
    return found


def evidence_records(
    conn: Connection, account_id: str, of: str, ids: Sequence[str], as_of: datetime
) -> dict[str, dict[str, Any]]:
    """The stored record of each id as known at ``as_of`` (absent: deleted since the run)."""
    if not ids:
        return {}
    if of == "orders":
        return _rows(conn, ORDERS, "order_id", account_id, ids, as_of)
    if of == "events":
        return _rows(conn, EVENTS, "event_id", account_id, ids, as_of)
    if of in ("inbound_messages", "outbound_messages"):
        messages = _rows(conn, MESSAGES, "message_id", account_id, ids, as_of)
        _first_replies(conn, account_id, messages, as_of)
        return messages
    if of == "threads":
        return _threads(conn, account_id, ids, as_of)
    if of == "buyers":
        return _buyers(conn, account_id, ids, as_of)
    raise ValueError(f"unknown record set {of!r}")


def order_events(
    conn: Connection, account_id: str, order_ids: Sequence[str], as_of: datetime
) -> dict[str, list[dict[str, Any]]]:
    """The events (feedback, claims, chargebacks...) of each order known at ``as_of``, oldest
    first: what made an order a defect, and when, for evidence that must say so."""
    found: dict[str, list[dict[str, Any]]] = {order_id: [] for order_id in order_ids}
    for chunk in _chunks(order_ids):
        query = (
            select(EVENTS)
            .where(
                EVENTS.c.account_id == account_id,
                EVENTS.c.order_id.in_(chunk),
                EVENTS.c.occurred_at < as_of,
            )
            .order_by(EVENTS.c.order_id, EVENTS.c.occurred_at, EVENTS.c.event_id)
        )
        for row in conn.execute(query).mappings():
            found[row["order_id"]].append(_as_known(row, as_of))
    return found


@dataclass(frozen=True)
class Moment:
    """One step of a record's story: what happened (a key, translated by the report) and when."""

    at: datetime
    what: str  # purchased, ship_by, shipped, deliver_by, delivered, cancelled, refunded, event...
    detail: dict[str, Any]


_ORDER_MOMENTS = (
    ("purchased_at", "purchased"),
    ("ship_by", "ship_by"),
    ("shipped_at", "shipped"),
    ("deliver_by", "deliver_by"),
    ("delivered_at", "delivered"),
    ("cancelled_at", "cancelled"),
    ("refunded_at", "refunded"),
)


def order_timelines(
    conn: Connection, account_id: str, order_ids: Sequence[str], as_of: datetime
) -> dict[str, list[Moment]]:
    """Each order's story up to ``as_of``, in time order: its own instants, its events and
    its messages."""
    stories: dict[str, list[Moment]] = {order_id: [] for order_id in order_ids}
    for order in _rows(conn, ORDERS, "order_id", account_id, order_ids, as_of).values():
        for column, what in _ORDER_MOMENTS:
            if order[column] is not None:
                detail = {"by": order["cancelled_by"]} if what == "cancelled" else {}
                stories[order["order_id"]].append(Moment(order[column], what, detail))
    for chunk in _chunks(order_ids):
        events = select(EVENTS).where(
            EVENTS.c.account_id == account_id,
            EVENTS.c.order_id.in_(chunk),
            EVENTS.c.occurred_at < as_of,
        )
        for event in conn.execute(events).mappings():
            detail = {k: event[k] for k in ("kind", "rating", "status") if event[k] is not None}
            stories[event["order_id"]].append(Moment(event["occurred_at"], "event", detail))
        messages = select(MESSAGES).where(
            MESSAGES.c.account_id == account_id,
            MESSAGES.c.order_id.in_(chunk),
            MESSAGES.c.sent_at < as_of,
        )
        for message in conn.execute(messages).mappings():
            detail = {"direction": message["direction"], "channel": message["channel"]}
            stories[message["order_id"]].append(Moment(message["sent_at"], "message", detail))
    for story in stories.values():
        story.sort(key=lambda m: m.at)
    return stories


def thread_timelines(
    conn: Connection, account_id: str, thread_ids: Sequence[str], as_of: datetime
) -> dict[str, list[Moment]]:
    """Each conversation's messages up to ``as_of``, in time order."""
    stories: dict[str, list[Moment]] = {thread_id: [] for thread_id in thread_ids}
    resolved: dict[str, datetime] = {}
    for chunk in _chunks(thread_ids):
        query = (
            select(MESSAGES)
            .where(
                MESSAGES.c.account_id == account_id,
                MESSAGES.c.thread_id.in_(chunk),
                MESSAGES.c.sent_at < as_of,
            )
            .order_by(MESSAGES.c.sent_at)
        )
        for m in conn.execute(query).mappings():
            detail = {"direction": m["direction"], "channel": m["channel"]}
            if m["automated"]:
                detail["automated"] = True
            stories[m["thread_id"]].append(Moment(m["sent_at"], "message", detail))
            if m["resolved_at"] is not None and m["resolved_at"] < as_of:
                resolved[m["thread_id"]] = max(
                    m["resolved_at"], resolved.get(m["thread_id"], m["resolved_at"])
                )
    for thread_id, at in resolved.items():  # one resolution per conversation: the last one
        stories[thread_id].append(Moment(at, "resolved", {}))
    for story in stories.values():
        story.sort(key=lambda m: m.at)
    return stories


@dataclass(frozen=True)
class Source:
    """Where an account's data came from and how fresh it is."""

    name: str  # orders, messages, events, or a sync stream / official report
    records: int | None
    latest: datetime | None  # the newest record instant, or the sync cursor
    checked_at: datetime | None  # when a sync or fetch last touched it
    problem: str | None = None


def data_sources(conn: Connection, account_id: str, as_of: datetime) -> list[Source]:
    """Record counts and newest instants per table (as known at ``as_of``, so an audit of a
    past moment stays the same), then sync bookmarks, official figures and quarantined records
    as they stand now: what an auditor asks before trusting the numbers."""
    sources: list[Source] = []
    for name, table, column in (
        ("orders", ORDERS, ORDERS.c.purchased_at),
        ("messages", MESSAGES, MESSAGES.c.sent_at),
        ("events", EVENTS, EVENTS.c.occurred_at),
    ):
        count, latest = conn.execute(
            select(func.count(), func.max(column)).where(
                table.c.account_id == account_id, column < as_of
            )
        ).one()
        sources.append(Source(name, count, latest, None))
    bookmarks = SyncBookmark.__table__
    for row in conn.execute(
        select(bookmarks).where(bookmarks.c.account_id == account_id).order_by(bookmarks.c.stream)
    ).mappings():
        finding = (row["pending"] or {}).get("finding")
        sources.append(
            Source(f"sync:{row['stream']}", None, row["cursor"], row["updated_at"], finding)
        )
    official = OfficialMetric.__table__
    fetched = conn.execute(
        select(official.c.source, func.count(), func.max(official.c.fetched_at))
        .where(official.c.account_id == account_id)
        .group_by(official.c.source)
    ).all()
    for source, count, at in fetched:
        sources.append(Source(f"official:{source}", count, None, at))
    quarantine = Quarantined.__table__
    for stream, count, at in conn.execute(
        select(quarantine.c.stream, func.count(), func.max(quarantine.c.quarantined_at))
        .where(quarantine.c.account_id == account_id)
        .group_by(quarantine.c.stream)
    ):
        sources.append(Source(f"quarantine:{stream}", count, None, at, UNREADABLE))
    return sources


# The instant that dates each kind of record, each the second column of an (account_id, ...)
# index: the newest one of an account is one index probe, however long its history.
_DATED = (
    (ORDERS, ORDERS.c.purchased_at),
    (MESSAGES, MESSAGES.c.sent_at),
    (EVENTS, EVENTS.c.occurred_at),
)


def newest_instants(account_id: Any, before: Any = None) -> list[Any]:
    """Scalar subqueries: the newest order, message and event instant of ``account_id`` (a
    column to correlate with, or a value), before ``before`` when given (a column or value).

    ORDER BY ... LIMIT 1 rather than max(): both databases then read one index entry.
    """
    newest = []
    for table, column in _DATED:
        query = select(column).where(table.c.account_id == account_id)
        if before is not None:
            query = query.where(column < before)
        newest.append(query.order_by(column.desc()).limit(1).scalar_subquery())
    return newest


def newest_record(
    conn: Connection, account_ids: Sequence[str], before: datetime | None = None
) -> datetime | None:
    """The newest order, message or event instant of these accounts (before ``before``): how
    far the stored data reach, to tell a check whose windows lie past them. None: no records."""
    accounts = Account.__table__
    newest: list[datetime] = []
    for chunk in _chunks(list(dict.fromkeys(account_ids))):
        query = select(*newest_instants(accounts.c.account_id, before)).where(
            accounts.c.account_id.in_(chunk)
        )
        newest += [at for row in conn.execute(query) for at in row if at is not None]
    return max(newest, default=None)
