"""What a sync leaves in the store: records by stream, quarantined records, and bookmarks.

A page's records, its rejects and the token of the next page are written in one transaction,
so a sync killed between two pages resumes exactly after the last one stored. Records are
upserted by key: a page seen twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from seller_health.store.models import (
    Event,
    Message,
    OfficialMetric,
    Order,
    Quarantined,
    SyncBookmark,
)
from seller_health.store.writes import upsert
from seller_health.timeutil import utcnow

BOOKMARKS, QUARANTINE = SyncBookmark.__table__, Quarantined.__table__
# Where each stream's records go, and their key within an account.
STREAM_TABLES: dict[str, tuple[Table, str]] = {
    "orders": (Order.__table__, "order_id"),
    "messages": (Message.__table__, "message_id"),
    "events": (Event.__table__, "event_id"),
}
Rejected = Sequence[tuple[str, str, dict[str, Any]]]  # (record key, reason, raw record)


def bookmark(engine: Engine, account_id: str, stream: str) -> SyncBookmark | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(BOOKMARKS).where(
                BOOKMARKS.c.account_id == account_id, BOOKMARKS.c.stream == stream
            )
        ).first()
    return None if row is None else SyncBookmark(**row._mapping)


def save_bookmark(engine: Engine, account_id: str, stream: str, **values: object) -> None:
    """Change the bookmark's ``values`` (cursor, pending), keeping the others."""
    with engine.begin() as conn:
        _write_bookmark(conn, account_id, stream, **values)


def _write_bookmark(conn: Connection, account_id: str, stream: str, **values: object) -> None:
    current = conn.execute(
        select(BOOKMARKS).where(BOOKMARKS.c.account_id == account_id, BOOKMARKS.c.stream == stream)
    ).first()
    row = (
        dict(current._mapping)
        if current
        else {"account_id": account_id, "stream": stream, "pending": {}}
    )
    row.update(values, updated_at=utcnow())
    upsert(conn, BOOKMARKS, [row])


def _quarantine(conn: Connection, account_id: str, stream: str, rejected: Rejected) -> None:
    """Keep records that could not be read, with when it happened: an audit shows them."""
    now = utcnow()
    rows = [
        {"account_id": account_id, "stream": stream, "record_key": key, "reason": reason}
        | {"raw": raw, "quarantined_at": now}
        for key, reason, raw in rejected
    ]
    upsert(conn, QUARANTINE, rows)


def store_records(
    engine: Engine,
    account_id: str,
    stream: str,
    records: Sequence[dict[str, Any]],
    rejected: Rejected = (),
    resume: dict[str, str] | None = None,
) -> tuple[int, int]:
    """Store a page of ``stream`` (rows with their ``account_id``) and its rejects, with the
    token to ``resume`` from when there is one; the distinct records new and updated."""
    table, key = STREAM_TABLES[stream]
    new = updated = 0
    with engine.begin() as conn:
        if resume is not None:
            _write_bookmark(conn, account_id, stream, pending={"resume": resume})
        if records:
            ids = {r[key] for r in records}
            known = set(
                conn.execute(
                    select(table.c[key]).where(
                        table.c.account_id == account_id, table.c[key].in_(list(ids))
                    )
                ).scalars()
            )
            upsert(conn, table, records)
            new = len(ids - known)
            updated = len(ids) - new
        if rejected:
            _quarantine(conn, account_id, stream, rejected)
    return new, updated


def store_report(
    engine: Engine,
    account_id: str,
    stream: str,
    rows: Sequence[dict[str, Any]],
    rejected: Rejected,
    *,
    official: bool,
) -> None:
    """A report's rows, the marketplace's own figures or events, and its rejects, together."""
    with engine.begin() as conn:
        upsert(conn, OfficialMetric.__table__ if official else Event.__table__, rows)
        _quarantine(conn, account_id, stream, rejected)


def message_threads(engine: Engine, account_id: str) -> dict[str, str]:
    """The thread of each stored message of the account: a reply finds its thread through them."""
    messages = Message.__table__
    with engine.connect() as conn:
        query = select(messages.c.message_id, messages.c.thread_id).where(
            messages.c.account_id == account_id
        )
        return dict(conn.execute(query).all())
