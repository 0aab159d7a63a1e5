"""Column types that keep SQL arithmetic exact and identical on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

from seller_health.timeutil import from_micros, to_micros

MONEY_SCALE = 10_000  # four decimal places, beyond any currency's minor unit


class Instant(TypeDecorator[datetime]):
    """An aware UTC datetime stored as microseconds since the Unix epoch."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None or isinstance(value, int):
            return value
        return to_micros(value)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        return None if value is None else from_micros(int(value))


def money_to_units(value: Decimal) -> int:
    return int((value * MONEY_SCALE).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


class Money(TypeDecorator[Decimal]):
    """A decimal amount stored as an integer count of 1/10,000 units, so sums are exact."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None or isinstance(value, int):
            return value
        return money_to_units(Decimal(value))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(int(value)) / MONEY_SCALE
