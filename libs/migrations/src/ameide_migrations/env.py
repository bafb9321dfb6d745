"""Alembic environment: online migrations only, serialized by a Postgres advisory lock."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from ameide_migrations import MIGRATION_LOCK_ID


def run_migrations_online() -> None:
    """Run migrations holding a session advisory lock so concurrent pods migrate one after another."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None  # noqa: S101 - set by ameide_migrations.alembic_config
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
        try:
            context.configure(connection=connection, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
    engine.dispose()


run_migrations_online()
