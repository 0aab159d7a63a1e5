"""Business-hours clocks: "reply within 8 business hours" computed in SQL.

Each open period (a working day's hours, in the seller's zone, minus public holidays from the
``holidays`` library) becomes a row ``(start, end, open time before it)``. An instant then maps
to the open time elapsed up to it, and a business delay is the difference of two such values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    MetaData,
    Table,
    case,
    func,
    insert,
    select,
)

from seller_health.engine.pack import CalendarSpec
from seller_health.timeutil import to_micros

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPAN_DAYS = 800  # windows reach back at most 365 days, durations a little further

Clock = Callable[[ColumnElement], ColumnElement]


class CalendarError(ValueError):
    pass


def _holidays(spec: CalendarSpec, years: range) -> holidays.HolidayBase | dict[date, str]:
    if not spec.holidays:
        return {}
    country, _, subdivision = spec.holidays.partition("-")
    try:
        return holidays.country_holidays(country, subdiv=subdivision or None, years=years)
    except (NotImplementedError, KeyError) as exc:
        raise CalendarError(f"unknown holiday calendar {spec.holidays!r}: {exc}") from None


def open_periods(spec: CalendarSpec, as_of: datetime) -> list[tuple[int, int, int]]:
    """``(start, end, open microseconds before start)`` for every open period near ``as_of``."""
    try:
        zone = ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"unknown timezone {spec.timezone!r}") from None
    opening, closing = spec.hours.split("-")
    open_at = time.fromisoformat(opening)
    close_h, close_m = (int(part) for part in closing.split(":"))
    last = as_of.astimezone(zone).date() + timedelta(days=1)
    first = last - timedelta(days=SPAN_DAYS)
    days_off = _holidays(spec, range(first.year, last.year + 1))
    working = {WEEKDAYS.index(day) for day in spec.days}
    periods: list[tuple[int, int, int]] = []
    elapsed = 0
    day = first
    while day <= last:
        if day.weekday() in working and day not in days_off:
            start = datetime.combine(day, open_at, zone)
            end = datetime.combine(day, time(0), zone) + timedelta(hours=close_h, minutes=close_m)
            start_us, end_us = to_micros(start), to_micros(end)
            periods.append((start_us, end_us, elapsed))
            elapsed += end_us - start_us
        day += timedelta(days=1)
    return periods


def install(conn: Connection, spec: CalendarSpec, as_of: datetime) -> Clock:
    """Create the calendar as a temporary table on ``conn`` and return its clock."""
    key = hashlib.sha1(f"{spec.model_dump_json()}|{as_of.isoformat()}".encode()).hexdigest()[:12]
    table = Table(
        f"business_calendar_{key}",
        MetaData(),
        Column("start", BigInteger, primary_key=True),
        Column("end", BigInteger, nullable=False),
        Column("before", BigInteger, nullable=False),
        prefixes=["TEMPORARY"],
    )
    table.create(conn, checkfirst=True)
    if conn.execute(select(func.count()).select_from(table)).scalar_one() == 0:
        rows = [{"start": s, "end": e, "before": b} for s, e, b in open_periods(spec, as_of)]
        if rows:
            conn.execute(insert(table), rows)

    def clock(moment: ColumnElement) -> ColumnElement:
        period = table.alias("period")
        inside = case(
            (moment >= period.c.end, period.c.end - period.c.start),
            (moment > period.c.start, moment - period.c.start),
            else_=0,
        )
        elapsed = (
            select(period.c.before + inside)
            .where(period.c.start <= moment)
            .order_by(period.c.start.desc())
            .limit(1)
            .correlate_except(period)
            .scalar_subquery()
        )
        return case((moment.is_(None), None), else_=func.coalesce(elapsed, 0))

    return clock
