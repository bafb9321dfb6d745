from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_command.adapters.outbox_hint import CHANNEL
from ameide_command.bootstrap import bootstrap
from ameide_command.domain.commands import StartChat
from ameide_command.domain.model import PRIVATE, Actor
from ameide_eventstore.postgres import PostgresEventStore
from ameide_eventstore.sharding import shard_of
from ameide_runtime.settings import StoreSettings
from tests.unit.command.command_app import SETTINGS, context

pytestmark = pytest.mark.integration


async def test_commit_publishes_a_hint_naming_the_shard(engine: AsyncEngine, redis_url: str) -> None:
    """After a commit the command side PUBLISHes the stream's outbox shard on ameide:outbox (Redis is real)."""
    settings = dataclasses.replace(SETTINGS, stores=StoreSettings(redis_url=redis_url))
    client = aioredis.Redis.from_url(redis_url)
    async with client.pubsub() as pubsub:
        await pubsub.subscribe(CHANNEL)
        await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
        store = PostgresEventStore(engine, shard_count=settings.outbox_shards)
        async with bootstrap(settings, event_store=store, publish_hints=True) as app:
            actor = Actor("hinted", f"tenant-{uuid.uuid4().hex[:8]}")
            created = await app.chats.create_chat(context(actor), StartChat("hint", PRIVATE, ""))
            shard = str(shard_of(uuid.UUID(created.response.threads.id), settings.outbox_shards))
            received: list[str] = []
            for _ in range(100):
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                if message is not None:
                    received.extend(message["data"].decode().split(","))
                if shard in received:
                    break
                await asyncio.sleep(0)
    await client.aclose()
    assert shard in received
