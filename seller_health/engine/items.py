"""A rule's rows, computed once: the per-row flags and values land in a temporary table.

Predicates can be costly per row (an EXISTS over events, a reply lookup); the aggregates, the
evidence and the roll-off all read the same flags, so each row's predicates run exactly once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Integer,
    MetaData,
    Table,
    insert,
    select,
)

from seller_health.engine.recordsets import Rows
from seller_health.store.models import TEXT

_names = itertools.count()
TEXT_COLUMNS = {"key"}
FLAG_COLUMNS = {"counted", "plus", "minus", "fails"}


@contextmanager
def materialize(
    conn: Connection,
    rows: Rows,
    filters: list[ColumnElement[bool]],
    columns: Mapping[str, ColumnElement],
) -> Iterator[Table]:
    """Yield a temporary table of ``account_id, item_id, *columns`` for rows passing ``filters``."""

    def kind(name: str) -> Any:
        return TEXT if name in TEXT_COLUMNS else Integer if name in FLAG_COLUMNS else BigInteger

    table = Table(
        f"rule_items_{next(_names)}",
        MetaData(),
        Column("account_id", TEXT),
        Column("item_id", TEXT),
        *(Column(name, kind(name)) for name in columns),
        prefixes=["TEMPORARY"],
    )
    table.create(conn)
    try:
        selected = (
            select(
                rows.account_id, rows.item_id, *(expr.label(name) for name, expr in columns.items())
            )
            .select_from(rows.source)
            .where(*filters)
        )
        conn.execute(insert(table).from_select(["account_id", "item_id", *columns], selected))
        yield table
    finally:
        table.drop(conn)
