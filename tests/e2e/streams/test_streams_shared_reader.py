import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_query.views.rows import PRIVATE
from tests.e2e.streams.streams_harness import Control, harness, read_data, texts, until_control
from tests.integration.feed.feed_redis_process import RedisProcess

pytestmark = pytest.mark.e2e

SUBSCRIBERS = 150


async def _redis_clients(url: str) -> list[dict[str, Any]]:
    async with Redis.from_url(url) as admin:
        clients: list[dict[str, Any]] = await admin.client_list()
        me = await admin.client_id()
    return [c for c in clients if int(c["id"]) != me]


class TestSharedReader:
    async def test_many_subscribers_share_one_blocking_redis_read(
        self, engine: AsyncEngine, own_redis: RedisProcess
    ) -> None:
        """Hundreds of open streams hold one XREAD connection, and each still gets its own feed's updates."""
        async with harness(engine, own_redis) as h, h.channel() as channel:
            chats = [await h.create_chat(owner=f"user-{i}", visibility=PRIVATE) for i in range(SUBSCRIBERS)]
            calls = [h.subscribe_chat(channel, chat, user=f"user-{i}") for i, chat in enumerate(chats)]
            await asyncio.gather(*(until_control(call, Control.KIND_CAUGHT_UP) for call in calls))
            clients = await _redis_clients(own_redis.url)
            assert len(clients) < 10
            assert sum(1 for c in clients if c.get("cmd") == "xread") == 1
            for i, chat in enumerate(chats):
                await h.send(chat, f"for-{i}")
            received = await asyncio.gather(*(read_data(call, 1) for call in calls))
            assert [texts(r)[0] for r in received] == [f"for-{i}" for i in range(SUBSCRIBERS)]
            assert len(h.live.hub) == SUBSCRIBERS
            for call in calls:
                call.cancel()
            await asyncio.wait_for(h.live.hub.wait_empty(), timeout=30)
