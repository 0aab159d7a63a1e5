"""Opening the store: a SQLite file by default, PostgreSQL by URL, always migrated to head."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine as Engine  # re-exported for layers that keep off SQLAlchemy
from sqlalchemy import create_engine, event
from sqlalchemy.pool import StaticPool

DEFAULT_DB = "seller-health.db"
ENV_VAR = "SELLER_HEALTH_DB"
MIGRATIONS = Path(__file__).parent / "migrations"
SCHEDULER_TABLE = "apscheduler_jobs"  # APScheduler's job store, created and owned by it


def ours(name: str | None, kind: str, _parents: Any) -> bool:
    """Whether Alembic manages this object: the scheduler's table shares the database but is not
    in the models, and autogenerate must not propose dropping it."""
    return not (kind == "table" and name == SCHEDULER_TABLE)


def database_url(db: str | None = None) -> str:
    """Turn ``--db`` (a URL or a file path), ``$SELLER_HEALTH_DB`` or the default into a URL."""
    db = db or os.environ.get(ENV_VAR) or DEFAULT_DB
    if "://" in db:
        if db.startswith("postgres://"):
            db = "postgresql://" + db.removeprefix("postgres://")
        if db.startswith("postgresql://"):
            db = "postgresql+psycopg://" + db.removeprefix("postgresql://")
        return db
    return f"sqlite:///{Path(db).expanduser()}"


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def open_store(db: str | None = None, *, migrate: bool = True) -> Engine:
    """Create the engine and bring the schema to the latest migration."""
    url = database_url(db)
    if url in ("sqlite://", "sqlite:///:memory:"):
        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)
    if migrate:
        upgrade(engine)
    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)
