"""Expiry and outages through the real deployables (short TTLs, a Redis of their own).

An entry that is not renewed leaves, typing stops, a vanished agent's draft is abandoned, and a Redis that lost
everything leaves nothing stale.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest

from ameide_core_proto.live.v1 import live_types_pb2 as types
from tests.e2e.live.conftest import CallerFactory
from tests.e2e.live.live_harness import TYPING, VIEWING, Kind, case
from tests.integration.feed.feed_redis_process import RedisProcess
from tests.support.stack import Stack, health_status

pytestmark = pytest.mark.e2e


class TestExpiry:
    async def test_presence_that_is_not_renewed_expires(self, short_callers: CallerFactory, tenant: str) -> None:
        """Typing stops after the typing TTL, the user leaves after the viewing TTL, both marked expired."""
        alice, bob = short_callers("alice", tenant), short_callers("bob", tenant)
        chat = await alice.chat()
        async with bob.follow(chat) as stream:
            await alice.announce(chat, state=TYPING)
            stopped = await stream.wait_for(case("presence_changed", kind=Kind.KIND_TYPING_STOPPED))
            left = await stream.wait_for(case("presence_changed", kind=Kind.KIND_LEFT))
            assert (stopped.presence_changed.expired, left.presence_changed.expired) == (True, True)
            assert [c.kind for c in stream.of("presence_changed")] == [
                Kind.KIND_JOINED, Kind.KIND_TYPING_STOPPED, Kind.KIND_LEFT
            ]  # fmt: skip

    async def test_a_draft_whose_agent_vanished_is_abandoned(self, short_callers: CallerFactory, tenant: str) -> None:
        """The agent stops sending (crashed): after the draft TTL subscribers are told it expired; no message."""
        agent, reader = short_callers("alice", tenant), short_callers("bob", tenant)
        chat = await agent.chat()
        async with reader.follow(chat) as stream:
            draft_id = await agent.start(chat)
            await agent.append(draft_id, 1, "half an ans")
            abandoned = await stream.wait_for(case("draft_abandoned", draft_id=draft_id))
            assert abandoned.draft_abandoned.reason == types.DraftAbandoned.REASON_EXPIRED
        assert await agent.messages(chat) == []
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await agent.complete(draft_id)
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


class TestRedisRestart:
    async def test_nothing_stale_survives_redis_losing_its_data(
        self, short_stack: Stack, short_callers: CallerFactory, own_redis: RedisProcess, tenant: str
    ) -> None:
        """Redis restarts empty while a user types: the presence is restated (no stale typing), then rebuilt.

        The subscriber gets a snapshot without the typing user, the next heartbeat makes the user present again,
        and the query service never stopped serving.
        """
        alice, bob = short_callers("alice", tenant), short_callers("bob", tenant)
        chat = await alice.chat()
        async with bob.follow(chat) as stream:
            await alice.announce(chat, state=TYPING)
            await stream.wait_for(case("presence_changed", kind=Kind.KIND_JOINED))
            seen = len(stream.updates)
            own_redis.stop()
            own_redis.start()
            # A snapshot without alice: what the subscriber shows is replaced, typing included.
            fresh = await stream.wait_for(case("presence_snapshot"), after=seen)
            assert list(fresh.presence_snapshot.participants) == []
            await _until_accepted(lambda: alice.announce(chat, state=VIEWING))
            await stream.wait_for(case("presence_changed", kind=Kind.KIND_JOINED), after=stream.updates.index(fresh))
        assert health_status(short_stack.query_target) == 1  # SERVING


async def _until_accepted(call: object) -> None:
    """Repeat an announcement until Redis takes it again (the client's heartbeat does the same)."""
    async with asyncio.timeout(60):
        while True:
            try:
                await call()  # type: ignore[operator]
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                await asyncio.sleep(0.1)
            else:
                return
