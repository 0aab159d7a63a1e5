"""Upserts by primary key, the same on SQLite and PostgreSQL: re-syncing never duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, update: bool = True
) -> None:
    """Insert ``rows``, replacing the non-key columns of rows whose key already exists
    (or, with ``update=False``, leaving existing rows as they are)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    keys = [c.name for c in table.primary_key.columns]
    last: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:  # PostgreSQL refuses one statement touching a key twice: last wins
        last[tuple(row[k] for k in keys)] = row
    statement = dialect.insert(table)
    columns = [c for c in rows[0] if c not in keys]
    if columns and update:
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={c: statement.excluded[c] for c in columns}
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    conn.execute(statement, list(last.values()))
