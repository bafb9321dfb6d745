"""Fixtures of the live-stream end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.feed.feed_redis_process import RedisProcess, redis_process


@pytest.fixture(name="own_redis")
def fixture_own_redis() -> Iterator[RedisProcess]:
    """A redis-server this test may kill and restart."""
    with redis_process() as proc:
        yield proc
