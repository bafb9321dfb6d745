"""Live-signal stores on the run's Redis, each test under a key prefix of its own, with a clock the test moves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis

from ameide_query.live import keys, signals
from ameide_query.live.drafts import DraftStore
from ameide_query.live.presence import PresenceStore
from ameide_query.live.scripts import Scripts
from ameide_query.live.signals import Signal
from ameide_query.live.snapshots import Snapshots
from ameide_query.live.sweeper import Sweeper
from ameide_readmodel.feed.names import artifact_feed, chat_feed


class Clock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        """The current time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Let time pass."""
        self.now += seconds


@dataclass
class Live:
    """The stores as the query service wires them, on one prefix."""

    redis: Redis
    prefix: str
    clock: Clock
    presence: PresenceStore
    drafts: DraftStore
    snapshots: Snapshots
    sweeper: Sweeper

    async def signals(self, feed_key: str) -> list[Signal]:
        """Every signal the resource's stream holds, oldest first."""
        raw: Any = await self.redis.xrange(keys.signals_key(feed_key, self.prefix))
        found = [signals.decode(feed_key, entry_id, fields) for entry_id, fields in raw]
        return [signal for signal in found if signal is not None]


@pytest.fixture(name="live")
async def fixture_live(redis_url: str) -> AsyncIterator[Live]:
    """Stores with the production TTLs (30 s viewing, 6 s typing, 60 s drafts) on a fresh prefix."""
    redis = Redis.from_url(redis_url)
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    scripts = Scripts.register(redis)
    clock = Clock()
    presence = PresenceStore(redis, scripts, viewing_ttl_seconds=30, typing_ttl_seconds=6, clock=clock, prefix=prefix)
    drafts = DraftStore(redis, scripts, ttl_seconds=60, clock=clock, prefix=prefix)
    yield Live(redis, prefix, clock, presence, drafts, Snapshots(redis, scripts, prefix=prefix),
               Sweeper(presence, drafts, clock=clock))  # fmt: skip
    await redis.aclose()


@pytest.fixture(name="chat")
def fixture_chat() -> str:
    """A chat's feed key."""
    return chat_feed(str(uuid.uuid4()))


@pytest.fixture(name="artifact")
def fixture_artifact() -> str:
    """An artifact's feed key."""
    return artifact_feed(str(uuid.uuid4()))
