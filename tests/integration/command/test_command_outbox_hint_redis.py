from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_command.adapters.outbox_hint import CHANNEL, OutboxHint
from ameide_command.bootstrap import bootstrap
from ameide_command.domain.commands import StartChat
from ameide_command.domain.model import PRIVATE, Actor
from ameide_eventstore import NewEvent, StreamAppend
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


async def test_hints_flow_where_redis_refuses_client_reply(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """An ACL without CLIENT: the refusal is logged once, replies are drained, every hint still arrives."""
    admin = aioredis.Redis.from_url(redis_url)
    user, password = f"hint-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    await admin.acl_setuser(
        user, enabled=True, passwords=[f"+{password}"], keys=["*"], channels=["*"], commands=["+@all", "-client"]
    )
    hint = OutboxHint(aioredis.Redis.from_url(redis_url, username=user, password=password), shard_count=64)
    try:
        async with admin.pubsub() as pubsub:
            await pubsub.subscribe(CHANNEL)
            await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
            for _ in range(20):  # one hint at a time, each awaited, so every one is its own PUBLISH and reply
                stream = uuid.uuid4()
                await hint([StreamAppend(stream, "chat", "t", 0, [NewEvent(uuid.uuid4(), "x", b"")])])
                assert str(shard_of(stream, 64)) in await _next_hint(pubsub)
            unread = await _unread_replies(hint)
            clients = [listed for listed in await admin.client_list() if listed.get("user") == user]
    finally:
        await hint.close()
        await admin.acl_deluser(user)
        await admin.aclose()
    assert unread <= 1  # at most the last hint's reply: each hint drained the ones before it
    assert len(clients) == 1  # one hint connection all along: the replies never broke it
    assert sum("refused CLIENT REPLY OFF" in record.getMessage() for record in caplog.records) == 1


async def _next_hint(pubsub: PubSub) -> list[str]:
    """The shards named by the next hint (bounded wait)."""
    for _ in range(200):
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
        if message is not None:
            return str(message["data"].decode()).split(",")
    raise AssertionError("no hint arrived")


async def _unread_replies(hint: OutboxHint) -> int:
    """How many replies wait unread on the hint's own connection (read here to count them)."""
    connection = hint._connection  # the test looks at what the hint left in its socket
    assert connection is not None
    count = 0
    while await connection.can_read():
        await connection.read_response()
        count += 1
    return count
