"""Instants: parsed strictly, held as aware UTC datetimes, stored as integer microseconds.

Integers make window arithmetic (``sent_at + 24 h <= reply_at``) identical on SQLite and
PostgreSQL and exact to the microsecond, which string or float timestamps are not.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROS_PER_SECOND = 1_000_000
MICROS_PER_HOUR = 3600 * MICROS_PER_SECOND
MICROS_PER_DAY = 24 * MICROS_PER_HOUR
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


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


def parse_as_of(text: str) -> datetime:
    """``--as-of``: an instant as :func:`parse_instant` reads it, or a date alone, read as
    midnight UTC. A date names no time, so one zone is chosen for every account rather than each
    account's own, which would judge the accounts of one run at different instants; a date and
    time without an offset is still refused: that would be a guess."""
    stripped = text.strip()
    if _DATE_ONLY.fullmatch(stripped):
        try:
            day = date.fromisoformat(stripped)
        except ValueError:
            raise InstantError(f"{stripped!r} is not a date (expected e.g. 2026-11-01)") from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if len(stripped) < 11:  # neither form: say both
        raise InstantError(
            f"{stripped!r} is not a date or a date and time "
            "(expected e.g. 2026-11-01 or 2026-11-01T09:30:00Z)"
        )
    return parse_instant(text)


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
