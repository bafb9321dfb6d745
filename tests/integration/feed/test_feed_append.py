import asyncio
import itertools
import random
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_projector.feed.writer import append_feed_entries
from ameide_readmodel.feed.entries import FeedUpdate
from ameide_readmodel.feed.tables import rm_feed, rm_feed_heads

pytestmark = pytest.mark.integration


class _RollbackError(Exception):
    """Raised inside a transaction to roll it back."""


def _maybe_roll_back(*, rollback: bool) -> None:
    if rollback:
        raise _RollbackError


def _update(feed: str, label: str) -> FeedUpdate:
    return FeedUpdate(feed_key=feed, tenant_id="t-feed", payload=label.encode(), occurred_at=datetime.now(UTC))


class TestAppendFeedEntries:
    async def test_sequences_follow_input_order_per_feed(self, engine: AsyncEngine) -> None:
        """Each feed's updates get consecutive sequences in the order given, feeds independently."""
        a, b = f"thread:{uuid.uuid4()}", f"artifact:{uuid.uuid4()}"
        async with engine.begin() as conn:
            first = await append_feed_entries(conn, [_update(b, "b1"), _update(a, "a1"), _update(b, "b2")])
        async with engine.begin() as conn:
            second = await append_feed_entries(conn, [_update(a, "a2"), _update(b, "b3")])
        assert [(e.feed_key, e.seq, e.payload) for e in first] == [(b, 1, b"b1"), (a, 1, b"a1"), (b, 2, b"b2")]
        assert [(e.feed_key, e.seq, e.payload) for e in second] == [(a, 2, b"a2"), (b, 3, b"b3")]
        async with engine.connect() as conn:
            stored = (await conn.execute(select(rm_feed.c.seq, rm_feed.c.payload).where(rm_feed.c.feed_key == b))).all()
            head = (await conn.execute(select(rm_feed_heads.c.seq).where(rm_feed_heads.c.feed_key == b))).scalar()
        assert sorted(stored) == [(1, b"b1"), (2, b"b2"), (3, b"b3")]
        assert head == 3

    async def test_nothing_to_append(self, engine: AsyncEngine) -> None:
        """An empty batch touches nothing."""
        async with engine.begin() as conn:
            assert await append_feed_entries(conn, []) == []

    async def test_gapless_under_concurrent_writers_and_rollbacks(self, engine: AsyncEngine) -> None:
        """Concurrent transactions over overlapping feeds never leave a gap or a duplicate; rollbacks use none."""
        feeds = [f"thread:{uuid.uuid4()}" for _ in range(3)]
        committed: dict[str, list[str]] = {feed: [] for feed in feeds}
        rng = random.Random(7)  # noqa: S311 - reproducible test data, not crypto

        async def writer(worker: int) -> None:
            for txn in range(15):
                batch = [_update(rng.choice(feeds), f"{worker}:{txn}:{i}") for i in range(rng.randint(1, 4))]
                rollback = txn % 5 == 4
                try:
                    async with engine.begin() as conn:
                        entries = await append_feed_entries(conn, batch)
                        # Hold the locks a moment so that writers really overlap.
                        await conn.execute(text("SELECT pg_sleep(0.002)"))
                        _maybe_roll_back(rollback=rollback)
                except _RollbackError:
                    continue
                for entry in entries:
                    committed[entry.feed_key].append(entry.payload.decode())

        await asyncio.gather(*(writer(w) for w in range(6)))
        async with engine.connect() as conn:
            for feed in feeds:
                rows = (
                    await conn.execute(
                        select(rm_feed.c.seq, rm_feed.c.payload)
                        .where(rm_feed.c.feed_key == feed)
                        .order_by(rm_feed.c.seq)
                    )
                ).all()
                head = (
                    await conn.execute(select(rm_feed_heads.c.seq).where(rm_feed_heads.c.feed_key == feed))
                ).scalar()
                assert [seq for seq, _ in rows] == list(range(1, len(committed[feed]) + 1))
                assert head == len(committed[feed])
                assert sorted(p.decode() for _, p in rows) == sorted(committed[feed])
                # Within one transaction a feed's updates keep their order.
                labels = [p.decode().split(":") for _, p in rows]
                for earlier, later in itertools.pairwise(labels):
                    if earlier[:2] == later[:2]:
                        assert int(earlier[2]) < int(later[2])
