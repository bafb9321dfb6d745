"""Fixtures of the feed integration tests: a private redis-server process per test that needs one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from tests.integration.feed.feed_redis_process import RedisProcess, redis_process


@pytest.fixture(name="own_redis")
def fixture_own_redis() -> Iterator[RedisProcess]:
    """A redis-server this test may stop, restart and flush."""
    with redis_process() as proc:
        yield proc


@pytest.fixture(name="own_redis_client")
async def fixture_own_redis_client(own_redis: RedisProcess) -> AsyncIterator[Redis]:
    """A client of ``own_redis`` that fails fast while the server is down."""
    client = Redis.from_url(own_redis.url, socket_timeout=2, socket_connect_timeout=1)
    yield client
    await client.aclose()
