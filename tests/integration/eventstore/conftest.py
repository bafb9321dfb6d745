"""A private database for outbox-consumer tests: consumers drain the WHOLE outbox, so they must not share it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.integration.eventstore.eventstore_outbox_worker import APPLIED_DDL
from tests.support import servers


@pytest.fixture(scope="session", name="outbox_database_url")
def fixture_outbox_database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, migrated database used only by the outbox-consumer tests."""
    with servers.fresh_database(postgres_server_url, f"ameide_outbox_{uuid.uuid4().hex[:12]}") as url:
        from ameide_migrations import upgrade  # noqa: PLC0415 - only database tests need Alembic

        upgrade(url)
        yield url


@pytest.fixture(scope="session", name="outbox_engine")
async def fixture_outbox_engine(outbox_database_url: str) -> AsyncIterator[AsyncEngine]:
    """Engine on the private database, with the test projection table created."""
    engine = create_async_engine(outbox_database_url, pool_size=10, max_overflow=10)
    async with engine.begin() as conn:
        for statement in APPLIED_DDL:
            await conn.execute(text(statement))
    yield engine
    await engine.dispose()


@pytest.fixture(name="clean_outbox")
async def fixture_clean_outbox(outbox_engine: AsyncEngine) -> AsyncEngine:
    """Start each consumer test from an empty outbox and an empty projection."""
    async with outbox_engine.begin() as conn:
        await conn.execute(text("TRUNCATE es_outbox, es_dead_letters, es_test_applied, es_test_heads"))
    return outbox_engine
