"""Fixtures of the live-signal end-to-end tests: callers, on the session's deployables or on a stack of their own.

The stack of their own has short TTLs and a Redis the tests may restart: expiry and outages are what those tests
wait for.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import grpc.aio
import pytest

from tests.e2e.live.live_harness import Caller
from tests.integration.feed.feed_redis_process import RedisProcess, redis_process
from tests.support.servers import fresh_database
from tests.support.stack import Stack, running_stack

# Short enough that the expiry tests wait seconds, long enough that a loaded machine does not expire an entry a
# test is still using.
SHORT_TTLS = {
    "AMEIDE_PRESENCE_VIEWING_TTL_SECONDS": "3",
    "AMEIDE_PRESENCE_TYPING_TTL_SECONDS": "1",
    "AMEIDE_DRAFT_TTL_SECONDS": "2",
    "AMEIDE_HEARTBEAT_SECONDS": "1",
}

CallerFactory = Callable[[str, str], Caller]


@contextlib.asynccontextmanager
async def caller_factory(stack: Stack) -> AsyncIterator[CallerFactory]:
    """``callers(user, tenant)`` on ``stack``'s deployables, over one channel to each."""
    async with (
        grpc.aio.insecure_channel(stack.command_target) as commands,
        grpc.aio.insecure_channel(stack.query_target) as queries,
    ):
        yield lambda user, tenant: Caller(stack, commands, queries, user, tenant)


@pytest.fixture(name="callers")
async def fixture_callers(stack: Stack) -> AsyncIterator[CallerFactory]:
    """Callers on the session's deployables (fresh tenant names keep tests apart)."""
    async with caller_factory(stack) as callers:
        yield callers


@pytest.fixture(name="tenant")
def fixture_tenant() -> str:
    """A tenant of this test alone."""
    return f"tenant-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module", name="own_redis")
def fixture_own_redis() -> Iterator[RedisProcess]:
    """A redis-server the short-TTL stack uses and the tests may restart."""
    with redis_process() as proc:
        yield proc


@pytest.fixture(scope="module", name="short_stack")
def fixture_short_stack(
    postgres_server_url: str, own_redis: RedisProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Command, query and projector on a database and Redis of their own, the query service with short TTLs."""
    with fresh_database(postgres_server_url, f"ameide_live_{uuid.uuid4().hex[:12]}") as url:
        from ameide_migrations import upgrade  # noqa: PLC0415 - only this stack needs a database of its own

        upgrade(url)
        logs = tmp_path_factory.mktemp("live-logs")
        with running_stack(url, own_redis.url, logs, env={"query": SHORT_TTLS}) as running:
            yield running


@pytest.fixture(name="short_callers")
async def fixture_short_callers(short_stack: Stack) -> AsyncIterator[CallerFactory]:
    """Callers on the short-TTL stack."""
    async with caller_factory(short_stack) as callers:
        yield callers
