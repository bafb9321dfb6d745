"""Fixtures of the legacy import tests: a legacy database built from the real schema, fresh event stores."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from tests.integration.legacy.legacy_data import Expected, build
from tests.support import servers


def libpq(url: str) -> str:
    """The URL for psycopg / the command line (no SQLAlchemy driver suffix)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="session", name="legacy")
def fixture_legacy(postgres_server_url: str) -> Iterator[tuple[str, Expected]]:
    """A legacy database (a few thousand rows, every malformed case) and what was written to it."""
    with servers.fresh_database(postgres_server_url, f"legacy_{uuid.uuid4().hex[:10]}") as url:
        yield libpq(url), build(libpq(url), seed=20240301, chats=200)


@pytest.fixture(name="fresh_store")
def fixture_fresh_store(postgres_server_url: str) -> Iterator[Callable[[], str]]:
    """A factory of empty event-store databases migrated to head (dropped after the test)."""
    from ameide_migrations import upgrade  # noqa: PLC0415 - only database tests need Alembic

    with ExitStack() as stack:

        def make() -> str:
            url = stack.enter_context(servers.fresh_database(postgres_server_url, f"target_{uuid.uuid4().hex[:10]}"))
            upgrade(url)
            return libpq(url)

        yield make
