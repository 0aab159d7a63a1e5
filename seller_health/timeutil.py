"""Instants: parsed strictly, held as aware UTC datetimes, stored as integer microseconds.

Integers make window arithmetic (``sent_at + 24 h <= reply_at``) identical on SQLite and
PostgreSQL and exact to the microsecond, which string or float timestamps are not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROS_PER_SECOND = 1_000_000
MICROS_PER_HOUR = 3600 * MICROS_PER_SECOND
MICROS_PER_DAY = 24 * MICROS_PER_HOUR


class InstantError(ValueError):
    """A timestamp that is not an ISO 8601 instant with an offset."""


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 date-time that carries an offset; never guess a timezone."""
    text = text.strip()
    if len(text) < 11 or text[10] not in "Tt ":
        raise InstantError(f"{text!r} is not a date and time (expected e.g. 2026-11-01T09:30:00Z)")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InstantError(f"{text!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InstantError(f"{text!r} has no UTC offset (add Z or +hh:mm)")
    return moment.astimezone(UTC)


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise InstantError(f"naive datetime {moment!r}: instants must be timezone-aware")
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * MICROS_PER_SECOND + delta.microseconds


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def format_instant(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, seconds precision unless there are microseconds."""
    moment = moment.astimezone(UTC)
    spec = "seconds" if moment.microsecond == 0 else "microseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def utcnow() -> datetime:
    return datetime.now(UTC)
