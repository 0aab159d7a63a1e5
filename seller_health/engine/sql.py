"""Compiles the predicate tree and value expressions into SQL over one :class:`Rows`.

Every leaf comes out two-valued (false where a field is empty) so that ``not`` and ``any`` mean
what a reader of the rule file expects, not SQL's three-valued logic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    exists,
    false,
    literal,
    not_,
    or_,
    select,
    true,
    type_coerce,
)

from seller_health.engine import predicates as p
from seller_health.engine.fields import RECORD_SETS, Kind
from seller_health.engine.recordsets import EVENTS, MESSAGES, Rows, _reader, known_events
from seller_health.store.types import MONEY_SCALE
from seller_health.timeutil import MICROS_PER_SECOND

if TYPE_CHECKING:
    from seller_health.engine.pack import ValueExpr

Clock = Callable[[ColumnElement], ColumnElement]


@dataclass(frozen=True)
class Compiler:
    """Context a predicate needs beyond its own row: T, account currencies, the clock."""

    rows: Rows
    as_of: int
    currencies: Callable[[], Mapping[str, str | None]]  # computed only if a rule asks
    clock: Clock | None = None  # maps an instant to business time; None = calendar time

    def predicate(self, node: p.Predicate) -> ColumnElement[bool]:
        return _COMPILERS[type(node)](self, node)

    def scale(self, name: str) -> int:
        kind = RECORD_SETS[self.rows.name][name]
        return MONEY_SCALE if kind is Kind.MONEY else 1

    def timed(self, column: ColumnElement) -> ColumnElement:
        return column if self.clock is None else self.clock(column)

    def value(self, expr: ValueExpr) -> ColumnElement:
        """The raw value a mean or median averages (microseconds for durations)."""
        if expr.field is not None:
            return type_coerce(self.rows.field(expr.field), BigInteger)
        assert expr.start and expr.end
        start, end = self.rows.field(expr.start), self.rows.field(expr.end)
        return type_coerce(self.timed(end) - self.timed(start), BigInteger)

    @staticmethod
    def value_scale(expr: ValueExpr, kind: Kind | None) -> int:
        if expr.is_duration:
            return MICROS_PER_SECOND
        return MONEY_SCALE if kind is Kind.MONEY else 1


def compare(column: ColumnElement, op: str, bound: Fraction) -> ColumnElement[bool]:
    """``column op bound`` exactly, for an integer column and a fractional bound."""
    left, right = column * bound.denominator, bound.numerator
    if bound.denominator == 1:
        left = column
    return {
        ">=": left >= right,
        ">": left > right,
        "<=": left <= right,
        "<": left < right,
        "=": left == right,
        "!=": left != right,
    }[op]


def _all(c: Compiler, node: p.All) -> ColumnElement[bool]:
    return and_(*(c.predicate(item) for item in node.items))


def _any(c: Compiler, node: p.AnyOf) -> ColumnElement[bool]:
    return or_(*(c.predicate(item) for item in node.items))


def _not(c: Compiler, node: p.Not) -> ColumnElement[bool]:
    return not_(c.predicate(node.item))


def _is(c: Compiler, node: p.Is) -> ColumnElement[bool]:
    column = c.rows.field(node.field)
    if isinstance(node.values[0], bool):
        return and_(
            column.is_not(None), or_(*(column == (true() if v else false()) for v in node.values))
        )
    return and_(column.is_not(None), column.in_(node.values))


def _present(c: Compiler, node: p.Present) -> ColumnElement[bool]:
    return c.rows.field(node.field).is_not(None)


def _passed(c: Compiler, node: p.Passed) -> ColumnElement[bool]:
    column = c.rows.field(node.field)
    return and_(column.is_not(None), column < c.as_of)


def _compare(c: Compiler, node: p.Compare) -> ColumnElement[bool]:
    left = c.rows.field(node.left)
    if isinstance(node.right, Fraction):
        return and_(left.is_not(None), compare(left, node.op, node.right * c.scale(node.left)))
    right = c.rows.field(node.right)
    return and_(left.is_not(None), right.is_not(None), compare(left - right, node.op, Fraction(0)))


def _within(c: Compiler, node: p.Within) -> ColumnElement[bool]:
    start, end = c.rows.field(node.start), c.rows.field(node.end)
    delay = c.timed(end) - c.timed(start)
    return and_(
        start.is_not(None), end.is_not(None), compare(delay, "<=", node.seconds * MICROS_PER_SECOND)
    )


def _older_than(c: Compiler, node: p.OlderThan) -> ColumnElement[bool]:
    moment = c.rows.field(node.field)
    age = c.timed(literal(c.as_of, BigInteger)) - c.timed(moment)
    return and_(moment.is_not(None), compare(age, ">=", node.seconds * MICROS_PER_SECOND))


def _has_event(c: Compiler, node: p.HasEvent) -> ColumnElement[bool]:
    events = EVENTS.alias("event")
    inner = Compiler(
        Rows(
            "events",
            events,
            _reader(events, RECORD_SETS["events"], c.as_of),
            events.c.account_id,
            (),
        ),
        c.as_of,
        c.currencies,
        c.clock,
    )
    return exists(
        select(events.c.event_id).where(
            events.c.account_id == c.rows.account_id,
            events.c.order_id == c.rows.field("order_id"),
            *known_events(events, c.as_of),
            inner.predicate(node.where),
        )
    )


def _opening_message(c: Compiler, node: p.OpeningMessage) -> ColumnElement[bool]:
    other = MESSAGES.alias("earlier")
    sent, message_id = c.rows.field("sent_at"), c.rows.field("message_id")
    return ~exists(
        select(other.c.message_id).where(
            other.c.account_id == c.rows.account_id,
            other.c.thread_id == c.rows.field("thread_id"),
            or_(
                other.c.sent_at < sent,
                and_(
                    other.c.sent_at == sent,
                    other.c.direction == "in",
                    other.c.message_id < message_id,
                ),
            ),
        )
    )


def _silent_before(c: Compiler, node: p.SilentBefore) -> ColumnElement[bool]:
    other = MESSAGES.alias("before")
    sent = c.rows.field("sent_at")
    span = node.seconds * MICROS_PER_SECOND
    return ~exists(
        select(other.c.message_id).where(
            other.c.account_id == c.rows.account_id,
            other.c.thread_id == c.rows.field("thread_id"),
            other.c.sent_at < sent,
            other.c.sent_at >= sent - int(span),
        )
    )


def _account_currency(c: Compiler, node: p.AccountCurrency) -> ColumnElement[bool]:
    matching = sorted(a for a, cur in c.currencies().items() if cur in node.codes)
    return c.rows.account_id.in_(matching) if matching else false()


_COMPILERS: dict[type, Callable[[Compiler, Any], ColumnElement[bool]]] = {
    p.All: _all,
    p.AnyOf: _any,
    p.Not: _not,
    p.Is: _is,
    p.Present: _present,
    p.Passed: _passed,
    p.Compare: _compare,
    p.Within: _within,
    p.OlderThan: _older_than,
    p.HasEvent: _has_event,
    p.OpeningMessage: _opening_message,
    p.SilentBefore: _silent_before,
    p.AccountCurrency: _account_currency,
}
