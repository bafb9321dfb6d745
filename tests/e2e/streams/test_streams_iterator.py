"""LiveUpdates driven directly (no gRPC), so a test decides exactly when the subscriber reads."""

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2
from ameide_query.streams.subscription import Subscription
from ameide_query.views.rows import PRIVATE
from ameide_runtime import identity
from ameide_runtime.errors import ResourceExhausted
from tests.e2e.streams.streams_harness import TENANT, Control, Harness, harness, texts
from tests.integration.feed.feed_redis_process import RedisProcess

pytestmark = pytest.mark.e2e

OWNER = "owner-it"


async def _next(stream: AsyncIterator[Any]) -> Any:
    async with asyncio.timeout(30):
        return await anext(stream)


async def _only_subscription(h: Harness) -> Subscription:
    async with asyncio.timeout(30):
        while not (subs := list(h.live.hub.subscriptions())):  # noqa: ASYNC110 - state of another task, bounded
            await asyncio.sleep(0.01)
    return subs[0]


async def _until(condition: Any) -> None:
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 - state of another task, bounded
            await asyncio.sleep(0.01)


@pytest.fixture(name="as_owner", autouse=True)
def fixture_as_owner() -> Any:
    """The test runs as the owner (what the auth interceptor sets for a real call)."""
    token = identity.set_current(identity.Identity(user_id=OWNER, tenant_id=TENANT))
    yield
    identity.reset_current(token)


class TestWhenTheSubscriberReads:
    async def test_queued_full_state_updates_are_coalesced_to_the_newest(
        self, engine: AsyncEngine, own_redis: RedisProcess
    ) -> None:
        """Five content updates waiting in the queue reach a lagging subscriber as the newest one only."""
        async with harness(engine, own_redis, subscriber_queue_size=64) as h:
            artifact = await h.create_artifact(owner=OWNER)
            request = artifacts_service_pb2.StreamArtifactRequest(artifact_id=str(artifact))
            stream = h.live.artifact_updates(request, cast("Any", None))
            assert (await _next(stream)).control.kind == Control.KIND_SUBSCRIBED
            assert (await _next(stream)).control.kind == Control.KIND_CAUGHT_UP
            sub = await _only_subscription(h)
            for version in range(2, 7):
                await h.update_content(artifact, f"<v{version}/>".encode(), version)
            await _until(lambda: sub.known_head >= 5)
            newest = await _next(stream)
            assert (newest.version, newest.content_updated.body) == (6, b"<v6/>")
            await h.delete_artifact(artifact)
            assert (await _next(stream)).WhichOneof("update") == "deleted"
            with pytest.raises(StopAsyncIteration):
                await _next(stream)

    async def test_messages_are_never_coalesced(self, engine: AsyncEngine, own_redis: RedisProcess) -> None:
        """Queued chat messages all arrive, in order."""
        async with harness(engine, own_redis, subscriber_queue_size=64) as h:
            chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            stream = h.live.chat_updates(threads_service_pb2.StreamChatRequest(threads_id=str(chat)), cast("Any", None))
            await _next(stream)
            await _next(stream)
            sub = await _only_subscription(h)
            for i in range(5):
                await h.send(chat, f"m{i}")
            await _until(lambda: sub.known_head >= 5)
            assert texts([await _next(stream) for _ in range(5)]) == [f"m{i}" for i in range(5)]
            await cast("AsyncGenerator[Any, None]", stream).aclose()

    async def test_a_subscriber_that_stops_reading_is_cut(self, engine: AsyncEngine, own_redis: RedisProcess) -> None:
        """Once live, more queued updates than the queue holds: FELL_BEHIND, then RESOURCE_EXHAUSTED."""
        async with harness(engine, own_redis, subscriber_queue_size=2) as h:
            chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            stream = h.live.chat_updates(threads_service_pb2.StreamChatRequest(threads_id=str(chat)), cast("Any", None))
            await _next(stream)
            await _next(stream)
            sub = await _only_subscription(h)
            for i in range(4):
                await h.send(chat, f"m{i}")
            await _until(lambda: sub.overflowed)
            assert (await _next(stream)).control.kind == Control.KIND_FELL_BEHIND
            with pytest.raises(ResourceExhausted):
                await _next(stream)
            await _until(lambda: len(h.live.hub) == 0)

    async def test_unknown_chat_and_bad_id(self, engine: AsyncEngine, own_redis: RedisProcess) -> None:
        """Errors are raised before anything is sent."""
        async with harness(engine, own_redis) as h:
            for raw in (str(uuid.uuid4()), "nope"):
                stream = h.live.chat_updates(threads_service_pb2.StreamChatRequest(threads_id=raw), cast("Any", None))
                with pytest.raises(Exception) as caught:
                    await _next(stream)
                assert type(caught.value).__name__ in {"NotFound", "InvalidArgument"}
