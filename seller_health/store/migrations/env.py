"""Alembic environment: runs on the engine handed over by :func:`seller_health.store.db.upgrade`."""

from alembic import context
from sqlmodel import SQLModel

import seller_health.store.models  # noqa: F401  (registers the tables)
from seller_health.store.db import ours

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=ours,
    )
    context.run_migrations()
