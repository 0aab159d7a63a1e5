"""Fixtures of the command-line tests."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from seller_health.store.db import open_store
from tests.conftest import SELLER_TABLES


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """A store a command can open by URL: a SQLite file, or the PostgreSQL test database
    emptied for the test."""
    if request.param == "sqlite":
        url = str(tmp_path / "store.db")
        engine = open_store(url)
        yield engine, url
        engine.dispose()
        return
    engine = request.getfixturevalue("pg_engine")
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(SELLER_TABLES)} RESTART IDENTITY CASCADE"))
    yield engine, engine.url.render_as_string(hide_password=False)
