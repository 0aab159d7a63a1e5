from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlmodel import Session, select

from seller_health.store.db import database_url
from seller_health.store.models import Account, Order


def test_database_url_accepts_paths_and_urls(monkeypatch):
    monkeypatch.delenv("SELLER_HEALTH_DB", raising=False)
    assert database_url("data/x.db") == "sqlite:///data/x.db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url(None) == "sqlite:///seller-health.db"
    monkeypatch.setenv("SELLER_HEALTH_DB", "/tmp/y.db")
    assert database_url(None) == "sqlite:////tmp/y.db"


def test_instants_and_money_round_trip_exactly(engine):
    bought = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    with Session(engine) as session:
        session.add(Account(account_id="a", marketplace="amazon"))
        session.add(
            Order(
                account_id="a",
                order_id="o1",
                purchased_at=bought,
                status="shipped",
                fulfillment="merchant",
                total=Decimal("19.99"),
                currency="EUR",
            )
        )
        session.commit()
    with Session(engine) as session:
        order = session.exec(select(Order)).one()
        assert order.purchased_at == bought and order.purchased_at.tzinfo is not None
        assert order.total == Decimal("19.99")
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT purchased_at, total FROM orders")).one()
    assert raw == (1772366400123456, 199900)


def test_migrations_match_the_models(engine):
    """A model change without a migration would lose users' history on upgrade."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_autogenerate_leaves_the_schedulers_table_alone(tmp_path):
    """The daemon's job store lives in the same database; a new migration must not drop it."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from sqlmodel import SQLModel

    from seller_health.store.db import SCHEDULER_TABLE, open_store, ours

    engine = open_store(str(tmp_path / "daemon.db"))
    SQLAlchemyJobStore(engine=engine, tablename=SCHEDULER_TABLE).start(None, "default")
    with engine.connect() as conn:
        unfiltered = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        filtered = compare_metadata(context, SQLModel.metadata)
    dropped = [c[1].name for c in unfiltered if isinstance(c, tuple) and c[0] == "remove_table"]
    assert dropped == [SCHEDULER_TABLE]
    assert filtered == []


def test_opening_twice_keeps_the_data(tmp_path):
    from seller_health.store.db import open_store

    path = str(tmp_path / "kept.db")
    with open_store(path).begin() as conn:
        conn.execute(text("INSERT INTO accounts (account_id, marketplace, locale, timezone) "
                          "VALUES ('a', 'ebay', 'en', 'UTC')"))  # fmt: skip
    with open_store(path).connect() as conn:
        assert conn.execute(text("SELECT marketplace FROM accounts")).scalar_one() == "ebay"
