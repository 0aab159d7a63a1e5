"""Record sets as SQL: the rows a rule counts, with every field as the spec says it was at T.

``happened`` instants at or after T read as empty, defaults (``needs_reply`` true, ``channel``
marketplace) are applied, and derived rows (threads, buyers, a message's reply) are built here,
so the rest of the engine only ever sees fields with their ``metrics.md`` meaning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    FromClause,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)

from seller_health.engine.fields import ID_FIELD, RECORD_SETS, Kind
from seller_health.store.models import Event, Message, Order
from seller_health.timeutil import MICROS_PER_DAY

ORDERS = Order.__table__
MESSAGES = Message.__table__
EVENTS = Event.__table__
IGNORED_EVENT_STATUSES = ("withdrawn", "removed")
FIELD_DEFAULTS = {"needs_reply": True, "automated": False, "channel": "marketplace"}


@dataclass(frozen=True)
class Rows:
    """One record set for one query: where its rows come from and how to read their fields."""

    name: str
    source: FromClause
    field: Callable[[str], ColumnElement]
    account_id: ColumnElement
    conditions: tuple[ColumnElement, ...]

    @property
    def item_id(self) -> ColumnElement:
        return self.field(ID_FIELD[self.name])


def happened(column: ColumnElement, as_of: int) -> ColumnElement:
    """An instant that has not happened by T reads as empty."""
    return case((column < as_of, column), else_=None)


def _reader(
    table: FromClause, fields: dict[str, Kind], as_of: int
) -> Callable[[str], ColumnElement]:
    def field(name: str) -> ColumnElement:
        column = table.c[name]
        if fields.get(name) is Kind.HAPPENED:
            return happened(column, as_of)
        if name in FIELD_DEFAULTS:
            return func.coalesce(column, FIELD_DEFAULTS[name])
        return column

    return field


def known_events(events: FromClause, as_of: int) -> list[ColumnElement]:
    """Events known at T that the marketplace has not struck through."""
    return [
        events.c.occurred_at < as_of,
        or_(events.c.status.is_(None), events.c.status.not_in(IGNORED_EVENT_STATUSES)),
    ]


def reply_at(
    message: Callable[[str], ColumnElement], account_id: ColumnElement, as_of: int
) -> ColumnElement:
    """The first non-automated outbound message of the thread after ``message``, before T."""
    out = MESSAGES.alias("reply")
    return (
        select(func.min(out.c.sent_at))
        .where(
            out.c.account_id == account_id,
            out.c.thread_id == message("thread_id"),
            out.c.direction == "out",
            func.coalesce(out.c.automated, false()) == false(),
            out.c.sent_at > message("sent_at"),
            out.c.sent_at < as_of,
        )
        .correlate_except(out)  # stays tied to its message however deeply it is nested
        .scalar_subquery()
    )


def build(
    name: str, accounts: Sequence[str], as_of: int, window_start: int, window_by: str
) -> Rows:
    """Rows of ``name`` for ``accounts`` whose ``window_by`` instant lies in [start, T)."""
    builder = {
        "orders": _orders,
        "events": _events,
        "inbound_messages": _inbound_messages,
        "outbound_messages": _outbound_messages,
        "threads": _threads,
        "buyers": _buyers,
    }[name]
    return builder(list(accounts), as_of, window_start, window_by)


def _table_rows(
    name: str,
    table: FromClause,
    accounts: list[str],
    as_of: int,
    start: int,
    by: str,
    known: list[ColumnElement],
) -> Rows:
    raw = table.c[by]
    conditions = (table.c.account_id.in_(accounts), *known, raw >= start, raw < as_of)
    return Rows(
        name, table, _reader(table, RECORD_SETS[name], as_of), table.c.account_id, conditions
    )


def _orders(accounts: list[str], as_of: int, start: int, by: str) -> Rows:
    return _table_rows(
        "orders", ORDERS, accounts, as_of, start, by, [ORDERS.c.purchased_at < as_of]
    )


def _events(accounts: list[str], as_of: int, start: int, by: str) -> Rows:
    return _table_rows("events", EVENTS, accounts, as_of, start, by, known_events(EVENTS, as_of))


def _outbound_messages(accounts: list[str], as_of: int, start: int, by: str) -> Rows:
    known = [MESSAGES.c.sent_at < as_of, MESSAGES.c.direction == "out"]
    return _table_rows("outbound_messages", MESSAGES, accounts, as_of, start, by, known)


def _inbound_messages(accounts: list[str], as_of: int, start: int, by: str) -> Rows:
    known = [
        MESSAGES.c.sent_at < as_of,
        MESSAGES.c.direction == "in",
        func.coalesce(MESSAGES.c.needs_reply, true()) == true(),
    ]
    rows = _table_rows("inbound_messages", MESSAGES, accounts, as_of, start, by, known)
    plain = rows.field

    def field(name: str) -> ColumnElement:
        if name == "reply_at":
            return reply_at(plain, MESSAGES.c.account_id, as_of)
        return plain(name)

    return Rows(rows.name, rows.source, field, rows.account_id, rows.conditions)


def _threads(accounts: list[str], as_of: int, start: int, by: str) -> Rows:
    """One row per thread touched in the window, computed from every message known at T.

    A plain GROUP BY along the (account, thread, sent_at) index; the first and latest inbound
    messages' details and replies are looked up per thread only for threads in the window.
    """
    m = MESSAGES
    in_window = or_(
        and_(m.c.sent_at >= start, m.c.sent_at < as_of),
        and_(m.c.resolved_at >= start, m.c.resolved_at < as_of, m.c.sent_at < as_of),
    )
    touched = select(m.c.account_id, m.c.thread_id).where(m.c.account_id.in_(accounts), in_window)
    inbound = m.c.direction == "in"
    threads = (
        select(
            m.c.account_id,
            m.c.thread_id,
            func.min(m.c.sent_at).label("first_message_at"),
            func.max(happened(m.c.resolved_at, as_of)).label("resolved_at"),
            func.min(case((inbound, m.c.sent_at), else_=None)).label("first_inbound_at"),
            func.max(case((inbound, m.c.sent_at), else_=None)).label("latest_inbound_at"),
        )
        .where(
            m.c.account_id.in_(accounts),
            m.c.sent_at < as_of,
            tuple_(m.c.account_id, m.c.thread_id).in_(touched),
        )
        .group_by(m.c.account_id, m.c.thread_id)
        .subquery("threads")
    )

    def inbound_at(which: str) -> ColumnElement:
        """The thread's first or latest inbound message's ``needs_reply`` (ties: message id)."""
        other = MESSAGES.alias(f"{which}_in")
        order = (other.c.sent_at, other.c.message_id)
        if which == "latest":
            order = (other.c.sent_at.desc(), other.c.message_id.desc())
        needs_reply = func.coalesce(other.c.needs_reply, true())
        return (
            select(needs_reply)
            .where(
                other.c.account_id == threads.c.account_id,
                other.c.thread_id == threads.c.thread_id,
                other.c.direction == "in",
                other.c.sent_at == threads.c[f"{which}_inbound_at"],
            )
            .order_by(*order)
            .limit(1)
            .correlate_except(other)
            .scalar_subquery()
        )

    def field(name: str) -> ColumnElement:
        if name in ("first_inbound_needs_reply", "latest_inbound_needs_reply"):
            return inbound_at(name.split("_")[0])
        if name in ("first_inbound_reply_at", "latest_inbound_reply_at"):
            sent = threads.c[name.replace("_reply_at", "_at")]
            reader = {"thread_id": threads.c.thread_id, "sent_at": sent}
            return case(
                (sent.is_(None), None),
                else_=reply_at(reader.__getitem__, threads.c.account_id, as_of),
            )
        return threads.c[name]

    sel = threads.c[by]
    return Rows("threads", threads, field, threads.c.account_id, (sel >= start, sel < as_of))


def _buyers(accounts: list[str], as_of: int, start: int, by: str) -> Rows:
    o = ORDERS
    year_ago = as_of - 365 * MICROS_PER_DAY
    buyers = (
        select(
            o.c.account_id,
            o.c.buyer_id,
            func.min(o.c.purchased_at).label("first_purchased_at"),
            func.max(o.c.purchased_at).label("last_purchased_at"),
            func.sum(case((o.c.purchased_at >= year_ago, 1), else_=0)).label("orders_365d"),
        )
        .where(
            o.c.account_id.in_(accounts),
            o.c.purchased_at < as_of,
            o.c.buyer_id.is_not(None),
            o.c.buyer_id != literal(""),
        )
        .group_by(o.c.account_id, o.c.buyer_id)
        .subquery("buyers")
    )
    sel = buyers.c[by]
    return Rows(
        "buyers", buyers, buyers.c.__getitem__, buyers.c.account_id, (sel >= start, sel < as_of)
    )
