"""Loading millions of validated rows fast, all in one transaction, then refreshing statistics.

Rows arrive as plain tuples in a table's column order, in batches. SQLite gets DBAPI
``executemany`` upserts, with a large load's secondary indexes dropped and rebuilt at the end;
PostgreSQL gets COPY into a staging table, then one upsert per table. Nothing is visible until
the whole load commits, and a rollback undoes everything, indexes included.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, text

Values = tuple[Any, ...]


class TableLoader(Protocol):
    """Stores the batches of one table. ``finish`` is called only if the whole load is valid."""

    def write(self, batch: list[Values]) -> None: ...

    def finish(self) -> None: ...


class BulkLoad:
    """One load's transaction, from :func:`bulk_load`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def count(self, name: str) -> int:
        """Rows of a table, as this transaction sees them (the difference makes "new" rows)."""
        return int(self.conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())

    def loader(
        self, name: str, columns: Sequence[str], key: Sequence[str], *, large: bool
    ) -> TableLoader:
        """Upserts rows of ``columns`` by ``key``; within the load a repeated key ends with its
        last row. ``large``: the load dwarfs the table, so its indexes are better rebuilt."""
        conn = self.conn
        if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
            return _PostgresLoader(conn, name, columns, key)
        return _ExecutemanyLoader(conn, name, columns, key, large and conn.dialect.name == "sqlite")


@contextmanager
def bulk_load(engine: Engine) -> Iterator[BulkLoad]:
    """A transaction committed when the block ends, rolled back if it raises."""
    with engine.begin() as conn:
        _begin(conn)
        yield BulkLoad(conn)


def _begin(conn: Connection) -> None:
    """Make sure the load's first statement (a count) is already inside the transaction.

    Python's sqlite3 module opens a transaction only at the first INSERT, so counts and index
    DDL would otherwise run outside it; ``BEGIN IMMEDIATE`` also takes the write lock up front.
    """
    if conn.dialect.name == "sqlite":
        driver = conn.connection.driver_connection
        if driver is not None and not driver.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _upsert_sql(name: str, columns: Sequence[str], key: Sequence[str], placeholder: str) -> str:
    """INSERT ... ON CONFLICT (key) DO UPDATE: the same text works on SQLite and PostgreSQL.

    Rows go through ``executemany``, one statement per row in order, so a key repeated within
    a load (even within a batch) ends with its last row.
    """
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([placeholder] * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


def _drop_sqlite_indexes(conn: Connection, name: str) -> list[str]:
    """Drop a SQLite table's secondary indexes; return the SQL that recreates them.

    Inserting into five B-trees in random order costs more than sorting each once at the end.
    Safe inside the load's transaction: SQLite DDL is transactional, so a rollback restores them.
    """
    indexes = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master"
        " WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (name,),
    ).all()
    for index, _sql in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{index}"')
    return [sql for _index, sql in indexes]


class _ExecutemanyLoader:
    """Upserts batches with ``executemany`` (SQLite, and any other backend); with ``drop_indexes``
    (SQLite) the table's secondary indexes go at the first batch and come back at the end."""

    def __init__(
        self,
        conn: Connection,
        name: str,
        columns: Sequence[str],
        key: Sequence[str],
        drop_indexes: bool,
    ) -> None:
        self.conn, self.name, self.drop_indexes = conn, name, drop_indexes
        self.sql = _upsert_sql(
            name, columns, key, "?" if conn.dialect.paramstyle == "qmark" else "%s"
        )
        self.recreate: list[str] | None = None  # set once the indexes are dropped

    def write(self, batch: list[Values]) -> None:
        if self.drop_indexes and self.recreate is None:  # at the first batch: in the transaction
            self.recreate = _drop_sqlite_indexes(self.conn, self.name)
        self.conn.exec_driver_sql(self.sql, batch)

    def finish(self) -> None:
        for sql in self.recreate or ():
            self.conn.exec_driver_sql(sql)


class _PostgresLoader:
    """COPY into a temporary staging table, then one INSERT ... ON CONFLICT per table.

    Row-by-row ``executemany`` waits for the server on every row (about 15k rows/s); COPY
    streams. ``DISTINCT ON`` keeps the last row of a repeated key, because a single INSERT may
    not touch the same key twice. The staging table lives in the server, not in our memory,
    and disappears with the transaction (``ON COMMIT DROP``, or the rollback).
    """

    def __init__(
        self, conn: Connection, name: str, columns: Sequence[str], key: Sequence[str]
    ) -> None:
        self.conn, self.name, self.columns, self.key = conn, name, columns, key
        self.stage = f"seller_health_import_{name}"
        self.seq = 0
        names = ", ".join(columns)
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {self.stage} ON COMMIT DROP AS"
            f" SELECT {names}, 0::bigint AS import_seq FROM {name} WITH NO DATA"
        )
        self.copy_sql = f"COPY {self.stage} ({names}, import_seq) FROM STDIN"

    def write(self, batch: list[Values]) -> None:
        driver = self.conn.connection.driver_connection
        assert driver is not None
        seq = self.seq
        with driver.cursor() as cursor, cursor.copy(self.copy_sql) as copy:
            for values in batch:
                seq += 1
                copy.write_row((*values, seq))
        self.seq = seq

    def finish(self) -> None:
        names, keys = ", ".join(self.columns), ", ".join(self.key)
        updates = ", ".join(f"{c} = excluded.{c}" for c in self.columns if c not in self.key)
        self.conn.exec_driver_sql(
            f"INSERT INTO {self.name} ({names})"
            f" SELECT DISTINCT ON ({keys}) {names} FROM {self.stage}"
            f" ORDER BY {keys}, import_seq DESC"
            f" ON CONFLICT ({keys}) DO UPDATE SET {updates}"
        )
        self.conn.exec_driver_sql(f"DROP TABLE {self.stage}")


def refresh_statistics(engine: Engine) -> None:
    """Let the query planner see the new data: without statistics SQLite picks the primary key
    over the thread index and the check's reply lookups become scans."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE accounts, orders, messages, events")
