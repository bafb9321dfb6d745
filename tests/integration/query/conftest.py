"""Query handlers on the run's database, called as a given caller (no gRPC: that is what the e2e tests add)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from ameide_query.reads.artifacts import ArtifactReads
from ameide_query.reads.chats import ChatReads
from ameide_query.views.consistency import ConsistencyWaiter
from ameide_query.views.db import ReadPool
from ameide_runtime.identity import Identity, reset_current, set_current
from ameide_runtime.tokens import TokenCodec

CODEC = TokenCodec(b"integration-test-token-secret-0123456789")


@dataclass
class Reads:
    """The query handlers of both services."""

    chats: ChatReads
    artifacts: ArtifactReads


@pytest.fixture(scope="session", name="read_pool")
async def fixture_read_pool(database_url: str) -> AsyncIterator[ReadPool]:
    """The query service's read connections on the run's database."""
    pool = ReadPool(database_url, size=4)
    yield pool
    await pool.close()


@pytest.fixture(name="reads")
def fixture_reads(read_pool: ReadPool) -> Reads:
    """Handlers as the query bootstrap wires them (a short consistency wait)."""
    waiter = ConsistencyWaiter(read_pool, CODEC, wait_ms=300)
    return Reads(ChatReads(read_pool, CODEC, waiter), ArtifactReads(read_pool, CODEC, waiter))


@contextlib.contextmanager
def caller(user: str, tenant: str) -> Iterator[Identity]:
    """Run the block as ``user`` of ``tenant`` (what the auth interceptor does per request)."""
    identity = Identity(user_id=user, tenant_id=tenant)
    token = set_current(identity)
    try:
        yield identity
    finally:
        reset_current(token)
