import asyncio
import uuid
from typing import Any

import grpc
import grpc.aio
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_query.views.rows import PRIVATE, TEAM
from ameide_readmodel.feed import keys as feed_keys
from ameide_readmodel.feed.names import artifact_feed, chat_feed
from tests.e2e.streams.streams_harness import (
    OTHER_TENANT,
    TENANT,
    Control,
    harness,
    next_update,
    read_data,
    read_until_error,
    texts,
    until_control,
)
from tests.integration.feed.feed_redis_process import RedisProcess
from tests.support.grpc_status import details_of

pytestmark = pytest.mark.e2e

OWNER, MEMBER, READER = "owner-1", "member-2", "reader-3"


def _seq(token: str) -> int:
    """The sequence inside a token (tests only: tokens are opaque to clients)."""
    import base64  # noqa: PLC0415
    import json  # noqa: PLC0415

    body = token.partition(".")[0]
    return int(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["q"])


class TestLiveFanOut:
    async def test_two_subscribers_see_the_same_ordered_updates(
        self, engine: AsyncEngine, own_redis: RedisProcess
    ) -> None:
        """Writes by a third client reach both subscribers, in order, with increasing checkpoints."""
        async with harness(engine, own_redis) as h, h.channel() as one, h.channel() as two:
            chat = await h.create_chat(owner=OWNER, visibility=TEAM)
            first = h.subscribe_chat(one, chat, user=OWNER)
            second = h.subscribe_chat(two, chat, user=MEMBER)
            for call in (first, second):
                subscribed = await until_control(call, Control.KIND_SUBSCRIBED)
                assert subscribed.control.resume_valid_until.seconds > 0
                await until_control(call, Control.KIND_CAUGHT_UP)
            sent = [f"m{i}" for i in range(20)]
            for text in sent[:10]:
                await h.send(chat, text)
            await h.send_many(chat, sent[10:])
            got_one, got_two = await read_data(first, 20), await read_data(second, 20)
            assert texts(got_one) == sent
            assert texts(got_two) == sent
            assert [_seq(u.checkpoint_token) for u in got_one] == list(range(1, 21))
            assert all(u.timestamp.seconds > 0 for u in got_one)

    async def test_heartbeat_carries_the_latest_checkpoint(self, engine: AsyncEngine, own_redis: RedisProcess) -> None:
        """An idle stream sends HEARTBEAT control messages with the current checkpoint."""
        async with harness(engine, own_redis, heartbeat_seconds=0.2) as h, h.channel() as channel:
            chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            await h.send(chat, "before")
            call = h.subscribe_chat(channel, chat, user=OWNER)
            caught_up = await until_control(call, Control.KIND_CAUGHT_UP)
            beat = await until_control(call, Control.KIND_HEARTBEAT)
            assert _seq(beat.checkpoint_token) == _seq(caught_up.checkpoint_token) == 1
            await h.send(chat, "after")
            [update] = await read_data(call, 1)
            assert texts([update]) == ["after"]


class TestResume:
    async def test_resume_after_disconnect_gets_exactly_the_rest(
        self, engine: AsyncEngine, own_redis: RedisProcess
    ) -> None:
        """Disconnect after N updates, resume with the last token: exactly the remaining ones, then CAUGHT_UP."""
        async with harness(engine, own_redis) as h:
            chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            async with h.channel() as channel:
                call = h.subscribe_chat(channel, chat, user=OWNER)
                await until_control(call, Control.KIND_CAUGHT_UP)
                await h.send_many(chat, [f"m{i}" for i in range(10)])
                seen = await read_data(call, 4)
                call.cancel()
            await h.send_many(chat, [f"m{i}" for i in range(10, 16)])
            async with h.channel() as channel:
                call = h.subscribe_chat(channel, chat, user=OWNER, token=seen[-1].checkpoint_token)
                rest = await read_data(call, 12)
                await until_control(call, Control.KIND_CAUGHT_UP)
                await h.send(chat, "live")
                [live] = await read_data(call, 1)
            assert texts(seen + rest + [live]) == [f"m{i}" for i in range(16)] + ["live"]

    async def test_token_older_than_the_redis_window_is_served_from_rm_feed(
        self, engine: AsyncEngine, own_redis: RedisProcess
    ) -> None:
        """When Redis no longer holds the updates after the token, they come from rm_feed: nothing missing."""
        async with harness(engine, own_redis) as h, h.channel() as channel:
            chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            await h.send_many(chat, [f"m{i}" for i in range(30)])
            # The stream's window now starts at 26: everything from 3 to 25 is only in rm_feed.
            await h.redis.xtrim(feed_keys.stream_key(chat_feed(str(chat)), h.prefix), maxlen=5)
            call = h.subscribe_chat(channel, chat, user=OWNER, token=h.token(chat_feed(str(chat)), 2))
            replayed = await read_data(call, 28)
            await until_control(call, Control.KIND_CAUGHT_UP)
            assert texts(replayed) == [f"m{i}" for i in range(2, 30)]

    async def test_load_then_subscribe_with_a_head_token_misses_nothing(
        self, engine: AsyncEngine, own_redis: RedisProcess
    ) -> None:
        """A token at the head (as GetChat issues) followed by writes: every later update arrives."""
        async with harness(engine, own_redis) as h, h.channel() as channel:
            chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            head = (await h.send_many(chat, ["a", "b"]))[-1].seq
            token = h.token(chat_feed(str(chat)), head)
            await h.send(chat, "c")
            call = h.subscribe_chat(channel, chat, user=OWNER, token=token)
            await h.send(chat, "d")
            assert texts(await read_data(call, 2)) == ["c", "d"]


class TestRedisOutage:
    async def test_redis_killed_during_writes_then_restarted(
        self, engine: AsyncEngine, own_redis: RedisProcess
    ) -> None:
        """Updates written while Redis is down still reach live and resuming subscribers, each once, in order."""
        async with harness(engine, own_redis) as h, h.channel() as channel:
            chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            call = h.subscribe_chat(channel, chat, user=OWNER)
            await until_control(call, Control.KIND_CAUGHT_UP)
            await h.send_many(chat, ["m0", "m1"])
            before = await read_data(call, 2)
            own_redis.stop()
            for i in range(2, 8):
                await h.send(chat, f"m{i}")
            during = await read_data(call, 6)
            own_redis.start()
            for i in range(8, 12):
                await h.send(chat, f"m{i}")
            after = await read_data(call, 4)
            assert texts(before + during + after) == [f"m{i}" for i in range(12)]
            # A subscriber resuming from the start after the restart gets everything too.
            again = h.subscribe_chat(channel, chat, user=OWNER, token=h.token(chat_feed(str(chat)), 0))
            assert texts(await read_data(again, 12)) == [f"m{i}" for i in range(12)]

    async def test_crash_between_commit_and_xadd_leaves_no_duplicates(
        self, engine: AsyncEngine, own_redis: RedisProcess
    ) -> None:
        """Committed-but-unpublished updates are delivered once; Redis holds each id once."""
        async with harness(engine, own_redis) as h, h.channel() as channel:
            chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            call = h.subscribe_chat(channel, chat, user=OWNER)
            await until_control(call, Control.KIND_CAUGHT_UP)
            lost = await h.send_many(chat, ["m0", "m1", "m2"], publish=False)  # the projector died here
            await h.publisher.publish(lost)  # ... and, restarted, replays its last batch
            await h.publisher.publish(lost)
            await h.send(chat, "m3")
            assert texts(await read_data(call, 4)) == ["m0", "m1", "m2", "m3"]
            raw: Any = await h.redis.xrange(feed_keys.stream_key(chat_feed(str(chat)), h.prefix))
            assert [feed_keys.seq_of(entry_id) for entry_id, _ in raw] == [1, 2, 3, 4]


class TestTokensAndAccess:
    async def test_bad_tokens_get_the_documented_errors(self, engine: AsyncEngine, own_redis: RedisProcess) -> None:
        """Expired -> FAILED_PRECONDITION; forged, other tenant, other feed -> INVALID_ARGUMENT."""
        async with harness(engine, own_redis) as h, h.channel() as channel:
            chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            other_chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            feed = chat_feed(str(chat))
            ttl = h.settings.resume_token_ttl_seconds
            valid = h.token(feed, 0)
            cases = {
                "expired": (h.token(feed, 0, now=1_000_000.0), grpc.StatusCode.FAILED_PRECONDITION),
                "forged": (
                    valid[:-4] + ("AAAA" if not valid.endswith("AAAA") else "BBBB"),
                    grpc.StatusCode.INVALID_ARGUMENT,
                ),
                "tenant": (h.token(feed, 0, tenant=OTHER_TENANT), grpc.StatusCode.INVALID_ARGUMENT),
                "feed": (h.token(chat_feed(str(other_chat)), 0), grpc.StatusCode.INVALID_ARGUMENT),
                "kind": (h.token(artifact_feed(str(chat)), 0), grpc.StatusCode.INVALID_ARGUMENT),
            }
            assert ttl > 0
            for name, (token, code) in cases.items():
                call = h.subscribe_chat(channel, chat, user=OWNER, token=token)
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await next_update(call)
                assert caught.value.code() == code, name
                expected_reason = "RESUME_TOKEN_EXPIRED" if name == "expired" else "INVALID_RESUME_TOKEN"
                assert details_of(caught.value).reason == expected_reason, name

    async def test_private_chat_is_not_found_to_others(self, engine: AsyncEngine, own_redis: RedisProcess) -> None:
        """Another user of the tenant, and a user of another tenant, get NOT_FOUND; bad ids INVALID_ARGUMENT."""
        async with harness(engine, own_redis) as h, h.channel() as channel:
            chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            for user, tenant in ((MEMBER, TENANT), (OWNER, OTHER_TENANT)):
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await next_update(h.subscribe_chat(channel, chat, user=user, tenant=tenant))
                assert caught.value.code() == grpc.StatusCode.NOT_FOUND
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await next_update(h.subscribe_chat(channel, uuid.uuid4(), user=OWNER))
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
            stub_call = h.subscribe_chat(channel, chat, user=OWNER)
            stub_call.cancel()

    async def test_made_private_ends_others_streams_after_the_change(
        self, engine: AsyncEngine, own_redis: RedisProcess
    ) -> None:
        """A TEAM chat made PRIVATE: another member sees the change, then NOT_FOUND; the owner keeps streaming."""
        async with harness(engine, own_redis) as h, h.channel() as channel:
            chat = await h.create_chat(owner=OWNER, visibility=TEAM)
            member = h.subscribe_chat(channel, chat, user=MEMBER)
            owner = h.subscribe_chat(channel, chat, user=OWNER)
            for call in (member, owner):
                await until_control(call, Control.KIND_CAUGHT_UP)
            await h.set_visibility(chat, PRIVATE)
            [change] = await read_data(member, 1)
            assert change.state_changed.field == "visibility"
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await next_update(member)
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
            await h.send(chat, "still here")
            assert [u.WhichOneof("update") for u in await read_data(owner, 2)] == ["state_changed", "message"]

    async def test_deleted_chat_ends_the_stream_after_the_deleted_update(
        self, engine: AsyncEngine, own_redis: RedisProcess
    ) -> None:
        """The last update is ChatDeleted, then the stream ends normally; new subscriptions get NOT_FOUND."""
        async with harness(engine, own_redis) as h, h.channel() as channel:
            chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            call = h.subscribe_chat(channel, chat, user=OWNER)
            await until_control(call, Control.KIND_CAUGHT_UP)
            await h.delete_chat(chat)
            [gone] = await read_data(call, 1)
            assert gone.WhichOneof("update") == "deleted"
            assert await next_update(call) is grpc.aio.EOF
            assert await call.code() == grpc.StatusCode.OK
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await next_update(h.subscribe_chat(channel, chat, user=OWNER))
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    async def test_artifact_stream_follows_content_until_deleted(
        self, engine: AsyncEngine, own_redis: RedisProcess
    ) -> None:
        """StreamArtifactUpdates has the same semantics: updates with versions, then ArtifactDeleted ends it."""
        async with harness(engine, own_redis) as h, h.channel() as channel:
            artifact = await h.create_artifact(owner=OWNER)
            call = h.subscribe_artifact(channel, artifact, user=MEMBER)
            await until_control(call, Control.KIND_CAUGHT_UP)
            await h.update_content(artifact, b"<v2/>", 2)
            await h.update_content(artifact, b"<v3/>", 3)
            await h.delete_artifact(artifact)
            updates = await read_data(call, 3)
            assert [(u.WhichOneof("update"), u.version) for u in updates] == [
                ("content_updated", 2),
                ("content_updated", 3),
                ("deleted", 0),
            ]
            assert await next_update(call) is grpc.aio.EOF


class TestBackPressureAndShutdown:
    async def test_slow_consumer_is_cut_and_resumes_without_loss(
        self, engine: AsyncEngine, own_redis: RedisProcess
    ) -> None:
        """A subscriber that stops reading gets FELL_BEHIND then RESOURCE_EXHAUSTED; resuming loses nothing."""
        total = 120
        async with harness(engine, own_redis, subscriber_queue_size=4) as h, h.channel(fixed_window=True) as channel:
            chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            call = h.subscribe_chat(channel, chat, user=OWNER)
            await until_control(call, Control.KIND_CAUGHT_UP)
            # 8 KiB each: far more than the HTTP/2 window, so the server's writes block while the client idles.
            for i in range(total):
                await h.send(chat, f"m{i:03d}-" + "x" * 8192)
            updates, controls, error = await read_until_error(call)
            received = [u.message.parts[0].text.text[:4] for u in updates]
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert controls[-1] == Control.KIND_FELL_BEHIND
            assert len(received) < total
            resumed = h.subscribe_chat(channel, chat, user=OWNER, token=updates[-1].checkpoint_token)
            rest = await read_data(resumed, total - len(received))
            received += [u.message.parts[0].text.text[:4] for u in rest]
            assert received == [f"m{i:03d}" for i in range(total)]

    async def test_shutdown_ends_streams_with_unavailable(self, engine: AsyncEngine, own_redis: RedisProcess) -> None:
        """Server shutdown ends open streams with UNAVAILABLE so clients resume elsewhere."""
        async with harness(engine, own_redis) as h, h.channel() as channel:
            chat = await h.create_chat(owner=OWNER, visibility=PRIVATE)
            call = h.subscribe_chat(channel, chat, user=OWNER)
            await until_control(call, Control.KIND_CAUGHT_UP)
            h.running.stop.set()
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await next_update(call)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            await asyncio.wait_for(h.running.task, timeout=30)
