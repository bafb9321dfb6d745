import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_projector.config import ProjectorSettings
from ameide_projector.feed.publisher import FeedPublisher
from ameide_projector.feed.writer import append_feed_entries
from ameide_readmodel.feed import keys as feed_keys
from ameide_readmodel.feed.entries import FeedEntry, FeedUpdate
from ameide_readmodel.feed.tables import rm_feed, rm_feed_heads
from tests.integration.feed.feed_redis_process import RedisProcess

pytestmark = pytest.mark.integration

SETTINGS = ProjectorSettings(feed_maxlen=1000, resume_token_ttl_seconds=3600)


def _publisher(engine: AsyncEngine, redis: Redis, prefix: str) -> FeedPublisher:
    return FeedPublisher(SETTINGS, engine, redis, key_prefix=prefix, publish_timeout=3.0)


async def _append(engine: AsyncEngine, feed: str, count: int, *, occurred: datetime | None = None) -> list[FeedEntry]:
    when = occurred or datetime.now(UTC)
    updates = [FeedUpdate(feed, "t-pub", f"u{i}".encode(), when) for i in range(count)]
    async with engine.begin() as conn:
        return await append_feed_entries(conn, updates)


async def _ids(redis: Redis, prefix: str, feed: str) -> list[int]:
    raw: Any = await redis.xrange(feed_keys.stream_key(feed, prefix))
    return [feed_keys.seq_of(entry_id) for entry_id, _ in raw]


@pytest.fixture(name="prefix")
def fixture_prefix() -> str:
    """A key prefix private to the test."""
    return f"test:{uuid.uuid4().hex[:8]}:"


class TestPublish:
    async def test_entries_land_with_explicit_ids_and_a_ttl(
        self, engine: AsyncEngine, own_redis_client: Redis, prefix: str
    ) -> None:
        """XADD uses <seq>-0 and the key expires after the token TTL."""
        feed = f"thread:{uuid.uuid4()}"
        entries = await _append(engine, feed, 3)
        publisher = _publisher(engine, own_redis_client, prefix)
        await publisher.publish(entries)
        assert await _ids(own_redis_client, prefix, feed) == [1, 2, 3]
        assert 0 < await own_redis_client.ttl(feed_keys.stream_key(feed, prefix)) <= SETTINGS.resume_token_ttl_seconds
        stored: Any = await own_redis_client.xrange(feed_keys.stream_key(feed, prefix))
        assert feed_keys.decode_fields(feed, stored[0][0], stored[0][1]) == entries[0]

    async def test_a_chats_visibility_before_survives_every_path(
        self, engine: AsyncEngine, own_redis_client: Redis, prefix: str
    ) -> None:
        """FeedUpdate.chat_visibility_before reaches rm_feed, Redis (published, then republished) and the readers."""
        feed = f"artifact:{uuid.uuid4()}"
        updates = [
            FeedUpdate(feed, "t-pub", b"plain", datetime.now(UTC)),
            FeedUpdate(feed, "t-pub", b"made private", datetime.now(UTC), chat_visibility_before=2),
        ]
        async with engine.begin() as conn:
            entries = await append_feed_entries(conn, updates)
        assert [e.chat_visibility_before for e in entries] == [0, 2]
        publisher = _publisher(engine, own_redis_client, prefix)
        await publisher.catch_up()
        await publisher.publish(entries)
        stored: Any = await own_redis_client.xrange(feed_keys.stream_key(feed, prefix))
        assert [feed_keys.decode_fields(feed, i, f) for i, f in stored] == entries
        assert feed_keys.FIELD_CHAT_VISIBILITY_BEFORE not in stored[0][1]  # absent when 0: messages stay as small
        await own_redis_client.flushall()
        await publisher.catch_up()
        stored = await own_redis_client.xrange(feed_keys.stream_key(feed, prefix))
        assert [feed_keys.decode_fields(feed, i, f) for i, f in stored] == entries
        async with engine.connect() as conn:
            column = await conn.execute(select(rm_feed.c.chat_visibility_before).where(rm_feed.c.feed_key == feed))
            assert sorted(column.scalars()) == [0, 2]

    async def test_replayed_publish_adds_no_duplicates(
        self, engine: AsyncEngine, own_redis_client: Redis, prefix: str
    ) -> None:
        """A publish replayed after a crash (same entries again) is rejected by Redis and not counted as failure."""
        feed = f"thread:{uuid.uuid4()}"
        entries = await _append(engine, feed, 4)
        await _publisher(engine, own_redis_client, prefix).publish(entries)
        restarted = _publisher(engine, own_redis_client, prefix)
        await restarted.publish(entries)
        await restarted.publish(entries[:2])
        assert await _ids(own_redis_client, prefix, feed) == [1, 2, 3, 4]
        assert restarted.failures == 0

    async def test_publish_larger_than_one_script_call_keeps_each_feeds_order(
        self, engine: AsyncEngine, own_redis_client: Redis, prefix: str
    ) -> None:
        """Entries of interleaved feeds, more than one script call holds, all land with their own sequences."""
        feeds = [f"thread:{uuid.uuid4()}" for _ in range(3)]
        when = datetime.now(UTC)
        updates = [FeedUpdate(feeds[i % 3], "t-pub", f"u{i}".encode(), when) for i in range(1_200)]
        async with engine.begin() as conn:
            entries = await append_feed_entries(conn, updates)
        publisher = _publisher(engine, own_redis_client, prefix)
        await publisher.publish(entries)
        for feed in feeds:
            assert await _ids(own_redis_client, prefix, feed) == list(range(1, 401))
        assert (publisher.published, publisher.failures) == (1_200, 0)

    async def test_entry_refused_by_redis_counts_as_failure_and_others_land(
        self, engine: AsyncEngine, own_redis_client: Redis, prefix: str
    ) -> None:
        """An XADD Redis refuses (the key holds another type) fails that entry alone; it is caught up later."""
        broken, fine = f"thread:{uuid.uuid4()}", f"thread:{uuid.uuid4()}"
        await own_redis_client.set(feed_keys.stream_key(broken, prefix), "not a stream")
        entries = [*await _append(engine, broken, 2), *await _append(engine, fine, 3)]
        publisher = _publisher(engine, own_redis_client, prefix)
        await publisher.publish(entries)
        assert (publisher.published, publisher.failures) == (3, 2)
        assert await _ids(own_redis_client, prefix, fine) == [1, 2, 3]

    async def test_redis_down_is_swallowed_and_counted(
        self, engine: AsyncEngine, own_redis: RedisProcess, own_redis_client: Redis, prefix: str
    ) -> None:
        """With Redis unreachable, publish returns normally and counts the failure."""
        entries = await _append(engine, f"thread:{uuid.uuid4()}", 2)
        publisher = _publisher(engine, own_redis_client, prefix)
        own_redis.stop()
        await publisher.publish(entries)
        assert publisher.failures == 2
        # Right after a failure, publishes do not even try (the projector never waits on a dead Redis).
        await publisher.publish(entries[:1])
        assert publisher.failures == 3


class TestCatchUp:
    async def test_crash_between_commit_and_xadd_is_caught_up(
        self, engine: AsyncEngine, own_redis_client: Redis, prefix: str
    ) -> None:
        """Entries committed but never published reach Redis on the next catch-up pass, once."""
        feed = f"thread:{uuid.uuid4()}"
        await _append(engine, feed, 5)
        publisher = _publisher(engine, own_redis_client, prefix)
        await publisher.catch_up()
        await publisher.catch_up()
        assert await _ids(own_redis_client, prefix, feed) == [1, 2, 3, 4, 5]
        async with engine.connect() as conn:
            row = (await conn.execute(select(rm_feed_heads).where(rm_feed_heads.c.feed_key == feed))).one()
        assert row.published_seq == row.seq == 5

    async def test_crash_after_xadd_before_marks_republishes_without_duplicates(
        self, engine: AsyncEngine, own_redis_client: Redis, prefix: str
    ) -> None:
        """Marks lost with the process only cost a rejected republish."""
        feed = f"thread:{uuid.uuid4()}"
        entries = await _append(engine, feed, 3)
        await _publisher(engine, own_redis_client, prefix).publish(entries)  # marks never flushed
        restarted = _publisher(engine, own_redis_client, prefix)
        await restarted.catch_up()
        assert await _ids(own_redis_client, prefix, feed) == [1, 2, 3]
        assert restarted.failures == 0

    async def test_outage_then_empty_restart_republishes_everything(
        self, engine: AsyncEngine, own_redis: RedisProcess, own_redis_client: Redis, prefix: str
    ) -> None:
        """Published before the outage, failed during it, Redis back empty: catch-up restores every entry."""
        feed = f"thread:{uuid.uuid4()}"
        publisher = _publisher(engine, own_redis_client, prefix)
        await publisher.publish(await _append(engine, feed, 3))
        await publisher.flush_marks()
        own_redis.stop()
        await publisher.publish(await _append(engine, feed, 4))
        assert publisher.failures == 4
        own_redis.start()
        await publisher.catch_up()
        assert await _ids(own_redis_client, prefix, feed) == list(range(1, 8))

    async def test_flush_is_detected_and_the_tail_republished(
        self, engine: AsyncEngine, own_redis_client: Redis, prefix: str
    ) -> None:
        """FLUSHALL removes the epoch key; the next pass republishes each feed's recent tail."""
        feed = f"artifact:{uuid.uuid4()}"
        publisher = _publisher(engine, own_redis_client, prefix)
        await publisher.catch_up()
        await publisher.publish(await _append(engine, feed, 6))
        await publisher.catch_up()
        await own_redis_client.flushall()
        await publisher.catch_up()
        assert await _ids(own_redis_client, prefix, feed) == [1, 2, 3, 4, 5, 6]

    async def test_background_loop_catches_up(
        self, engine: AsyncEngine, own_redis: RedisProcess, own_redis_client: Redis, prefix: str
    ) -> None:
        """start() runs the catch-up loop on its own; stop() ends it."""
        feed = f"thread:{uuid.uuid4()}"
        publisher = FeedPublisher(SETTINGS, engine, own_redis_client, key_prefix=prefix, catchup_interval=0.05)
        own_redis.stop()
        await publisher.publish(await _append(engine, feed, 2))
        await publisher.start()
        own_redis.start()
        try:
            for _ in range(400):
                if await _ids(own_redis_client, prefix, feed) == [1, 2]:
                    break
                await asyncio.sleep(0.025)
            assert await _ids(own_redis_client, prefix, feed) == [1, 2]
        finally:
            await publisher.stop()


class TestPrune:
    async def test_old_entries_go_heads_stay(self, engine: AsyncEngine, own_redis_client: Redis, prefix: str) -> None:
        """Entries older than the TTL (plus margin) are deleted; recent ones and every head remain."""
        old_feed, new_feed = f"thread:{uuid.uuid4()}", f"thread:{uuid.uuid4()}"
        long_ago = datetime.now(UTC) - timedelta(days=30)
        await _append(engine, old_feed, 3, occurred=long_ago)
        await _append(engine, new_feed, 2)
        publisher = _publisher(engine, own_redis_client, prefix)
        assert await publisher.prune() >= 3
        async with engine.connect() as conn:
            left = (
                await conn.execute(
                    select(rm_feed.c.feed_key, rm_feed.c.seq).where(rm_feed.c.feed_key.in_([old_feed, new_feed]))
                )
            ).all()
            heads = dict(
                (
                    await conn.execute(
                        select(rm_feed_heads.c.feed_key, rm_feed_heads.c.seq).where(
                            rm_feed_heads.c.feed_key.in_([old_feed, new_feed])
                        )
                    )
                ).all()
            )
        assert sorted(left) == [(new_feed, 1), (new_feed, 2)]
        assert heads == {old_feed: 3, new_feed: 2}
