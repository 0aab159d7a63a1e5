"""Every store test runs on SQLite and on PostgreSQL.

PostgreSQL tests get their own uniquely named database, dropped at the end of the session. With
no server reachable they skip with the reason, except under CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import settings
from sqlalchemy import Engine, text

from seller_health.store.db import open_store

# Property tests that run a database per example are the slow part of the suite: the default
# profile keeps the README's test command quick; ``--hypothesis-profile=deep`` is the thorough
# (nightly-style) run. A property's own ``max_examples`` is scaled from the profile's.
settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("deep", max_examples=1000, deadline=None)
settings.load_profile("ci")

pytest_plugins = ["tests.notify.smtp"]  # the `serve` fixture: a real SMTP server on loopback

PG_ADMIN_URL = os.environ.get(
    "SELLER_HEALTH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SELLER_TABLES = [
    "rule_results",
    "account_results",
    "check_runs",
    "orders",
    "messages",
    "events",
    "accounts",
    "sync_bookmarks",
    "quarantine",
    "official_metrics",
    "alert_states",
    "alert_notices",
]


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    try:
        admin = _pg_admin()
    except Exception as exc:  # pragma: no cover - depends on the machine
        reason = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"seller_health_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = open_store(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An empty, migrated store on each backend."""
    if request.param == "sqlite":
        engine = open_store("sqlite://")
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("pg_engine")
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(SELLER_TABLES)} RESTART IDENTITY CASCADE"))
    yield engine
