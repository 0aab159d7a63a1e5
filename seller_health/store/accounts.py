"""The ``accounts`` table: who is in the store, and how their reports are read.

An account arrives by import (with its profile) or with its first sync or import of records
without a profile (with defaults: English, UTC); every other table hangs off its id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select

from seller_health.store.models import Account
from seller_health.store.writes import upsert

ACCOUNTS = Account.__table__
_CHUNK = 500  # ids per IN (...) list: well below every database's parameter limit


def has_accounts(engine: Engine) -> bool:
    """Whether anything was imported or synced yet: a check of an empty store is a mistake."""
    with engine.connect() as conn:
        return conn.execute(select(ACCOUNTS.c.account_id).limit(1)).first() is not None


def account_ids(conn: Connection) -> list[str]:
    """Every account in the store, in id order."""
    query = select(ACCOUNTS.c.account_id).order_by(ACCOUNTS.c.account_id)
    return list(conn.execute(query).scalars())


def stored_accounts(conn: Connection, wanted: Sequence[str] | None = None) -> list[Account]:
    """The stored accounts (all, or those of ``wanted``), in id order."""
    query = select(ACCOUNTS).order_by(ACCOUNTS.c.account_id)
    if wanted is not None:
        query = query.where(ACCOUNTS.c.account_id.in_(list(wanted)))
    return [Account(**row._mapping) for row in conn.execute(query)]


def account_profiles(
    conn: Connection, account_ids: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Name, locale and time zone of accounts as imported or synced (all, with no ids), by id."""
    if account_ids is None:
        return {row["account_id"]: dict(row) for row in conn.execute(select(ACCOUNTS)).mappings()}
    ids = list(account_ids)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        query = select(ACCOUNTS).where(ACCOUNTS.c.account_id.in_(ids[start : start + _CHUNK]))
        for row in conn.execute(query).mappings():
            found[row["account_id"]] = dict(row)
    return found


def _new(account_id: str, marketplace: str) -> dict[str, str]:
    return {"account_id": account_id, "marketplace": marketplace, "locale": "en", "timezone": "UTC"}


def ensure_account(engine: Engine, account_id: str, marketplace: str) -> None:
    """Make sure a synced account exists; one already stored keeps its profile."""
    with engine.begin() as conn:
        upsert(conn, ACCOUNTS, [_new(account_id, marketplace)], update=False)


def create_missing_accounts(conn: Connection, wanted: Iterable[str]) -> list[str]:
    """Create accounts (marketplace ``other``) for ids that records name without an accounts
    file; the ids created, sorted. An account already stored keeps its marketplace and name."""
    created = sorted(set(wanted) - set(account_ids(conn)))
    upsert(conn, ACCOUNTS, [_new(account_id, "other") for account_id in created], update=False)
    return created
