"""Query handlers on the run's database, called as a given caller (no gRPC: that is what the e2e tests add)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_query.reads.artifacts import ArtifactReads
from ameide_query.reads.chats import ChatReads
from ameide_query.reads.common import ConsistencyWaiter
from ameide_runtime.identity import Identity, reset_current, set_current
from ameide_runtime.tokens import TokenCodec

CODEC = TokenCodec(b"integration-test-token-secret-0123456789")


@dataclass
class Reads:
    """The query handlers of both services."""

    chats: ChatReads
    artifacts: ArtifactReads


@pytest.fixture(name="reads")
def fixture_reads(engine: AsyncEngine) -> Reads:
    """Handlers as the query bootstrap wires them (autocommit reads, a short consistency wait)."""
    reads_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    waiter = ConsistencyWaiter(reads_engine, CODEC, wait_ms=300)
    return Reads(ChatReads(reads_engine, CODEC, waiter), ArtifactReads(reads_engine, CODEC, waiter))


@contextlib.contextmanager
def caller(user: str, tenant: str) -> Iterator[Identity]:
    """Run the block as ``user`` of ``tenant`` (what the auth interceptor does per request)."""
    identity = Identity(user_id=user, tenant_id=tenant)
    token = set_current(identity)
    try:
        yield identity
    finally:
        reset_current(token)
