"""The one Redis reader of a query process, fanning feed entries out to every subscriber.

A single ``XREAD BLOCK`` covers every subscribed feed with the last id seen on each, plus a private wake key:
adding a feed XADDs to the wake key so the blocked read returns and is re-issued with the new key set. Thousands
of idle subscribers therefore cost one Redis connection, not one each. When Redis fails, the hub polls
``rm_feed_heads`` for the subscribed feeds instead and subscribers fetch from ``rm_feed``: correctness never
depends on Redis, only latency does.

The same read follows the live-signal stream of every resource whose subscribers asked for signals
(``follow_signals``): presence and draft signals reach those subscribers as fast as feed entries do, and cost no
connection of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

import psycopg
from prometheus_client import Gauge
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ameide_pg.pool import ConnectionPool
from ameide_query.live import keys as live_keys
from ameide_query.live import signals, streamids
from ameide_query.streams import reads
from ameide_query.streams.subscription import Subscription
from ameide_query.streams.wake import ReaderWake
from ameide_readmodel.feed import keys
from ameide_readmodel.feed.entries import FeedEntry

_log = logging.getLogger(__name__)

# Larger holes are left to the subscribers, who fetch in pages (a reader must not stall on one feed).
_MAX_GAP_FILL = 200

# With `serve --workers N` the supervisor aggregates: subscribers add up, degraded is any worker's.
SUBSCRIBERS = Gauge(
    "ameide_live_subscribers", "Open StreamChatUpdates/StreamArtifactUpdates streams", multiprocess_mode="livesum"
)
DEGRADED = Gauge(
    "ameide_live_redis_degraded",
    "1 while live streams poll rm_feed because Redis is unreachable",
    multiprocess_mode="livemax",
)


class FeedHub:
    """Shared reader: tracks subscribed feeds and offers each new entry to their subscriptions."""

    def __init__(
        self,
        redis: Redis,
        db: ConnectionPool,
        *,
        key_prefix: str = keys.KEY_PREFIX,
        block_ms: int = 1000,
        count: int = 100,
        poll_interval: float = 0.5,
        signal_prefix: str = live_keys.KEY_PREFIX,
    ) -> None:
        self._redis = redis
        self._db = db
        self._prefix = key_prefix
        self._signal_prefix = signal_prefix
        self._signal_keys = live_keys.signals_key("", signal_prefix)
        self._with_signals: set[str] = set()
        self._block_ms = block_ms
        self._read_count = count
        self._poll_interval = poll_interval
        self._wake = ReaderWake(redis, key_prefix)
        self._subs: dict[str, set[Subscription]] = {}
        self._last: dict[str, int] = {}
        # The XREAD argument, kept up to date incrementally: Redis key -> last id read (the wake key first).
        self._read_ids: dict[str, str] = {self._wake.key: "0-0"}
        self._count = 0
        self._empty = asyncio.Event()
        self._empty.set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.degraded = False

    def add(self, sub: Subscription, head: int) -> None:
        """Follow ``sub``'s feed from ``head`` (the feed's head the subscriber read) on, if not followed yet."""
        subs = self._subs.get(sub.feed_key)
        if subs is None:
            self._subs[sub.feed_key] = subs = set()
            self._advance(sub.feed_key, head)
            if self._task is not None and not self.degraded:
                self._wake.send()
        sub.note_head(self._last[sub.feed_key])
        subs.add(sub)
        self._count += 1
        self._empty.clear()
        SUBSCRIBERS.inc()

    def remove(self, sub: Subscription) -> None:
        """Stop offering entries to ``sub``; a feed nobody follows leaves the next read."""
        subs = self._subs.get(sub.feed_key)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        self._count -= 1
        if not self._count:
            self._empty.set()
        SUBSCRIBERS.dec()
        if not subs:
            del self._subs[sub.feed_key]
            del self._last[sub.feed_key]
            del self._read_ids[keys.stream_key(sub.feed_key, self._prefix)]
            if sub.feed_key in self._with_signals:
                self._with_signals.discard(sub.feed_key)
                del self._read_ids[live_keys.signals_key(sub.feed_key, self._signal_prefix)]

    async def follow_signals(self, feed_key: str) -> None:
        """Also read ``feed_key``'s signal stream, from its current end on (its subscribers must be added first).

        Once this returns, every signal appended afterwards reaches the feed's subscribers that want signals, so a
        snapshot read next misses nothing (the subscriber skips what the snapshot already holds by stream id).
        """
        if feed_key in self._with_signals or feed_key not in self._subs:
            return
        key = live_keys.signals_key(feed_key, self._signal_prefix)
        last: Any = await self._redis.xrevrange(key, count=1)
        if feed_key in self._with_signals or feed_key not in self._subs:
            return  # another subscriber got here first, or everyone left meanwhile
        self._read_ids[key] = streamids.text(streamids.parse(last[0][0])) if last else "0-0"
        self._with_signals.add(feed_key)
        if self._task is not None and not self.degraded:
            self._wake.send()

    def _advance(self, feed_key: str, seq: int) -> None:
        """Read ``feed_key`` after ``seq`` from now on."""
        self._last[feed_key] = seq
        self._read_ids[keys.stream_key(feed_key, self._prefix)] = keys.entry_id(seq)

    def subscriptions(self) -> Iterable[Subscription]:
        """Every open subscription."""
        return [sub for subs in self._subs.values() for sub in subs]

    def __len__(self) -> int:
        return self._count

    async def wait_empty(self) -> None:
        """Return once no subscription is open."""
        await self._empty.wait()

    async def start(self) -> None:
        """Start the reader loop."""
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="live-feed-reader")

    async def stop(self) -> None:
        """Stop the reader loop and remove the wake key."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._wake.close()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._step()
            except Exception:  # noqa: BLE001 - logged with its traceback; see below
                # The reader must outlive any surprise, or every live stream in the process would stall.
                _log.exception("live reader failed; continuing")
                await asyncio.sleep(self._poll_interval)

    async def _step(self) -> None:
        if self.degraded:
            await self._degraded_pass()
            return
        try:
            response = await self._read()
        except (RedisError, OSError) as exc:
            _log.warning("live reader lost Redis, polling rm_feed until it returns: %s", exc)
            self._set_degraded(value=True)
            return
        await self._dispatch(response)

    async def _read(self) -> Any:  # noqa: ANN401 - redis-py returns RESP2 lists or RESP3 dicts
        return await self._redis.xread(
            self._read_ids,  # type: ignore[arg-type]
            count=self._read_count,
            block=self._block_ms,
        )

    async def _dispatch(self, response: Any) -> None:  # noqa: ANN401 - see _read
        items = response.items() if isinstance(response, dict) else (response or [])
        for raw_key, raw_entries in items:
            key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
            if key == self._wake.key:
                if raw_entries:
                    last_id = raw_entries[-1][0]
                    self._read_ids[key] = last_id.decode() if isinstance(last_id, bytes) else str(last_id)
                continue
            if key.startswith(self._signal_keys):
                self._offer_signals(key, raw_entries)
                continue
            feed_key = key[len(self._prefix) :]
            entries: list[FeedEntry] = []
            for entry_id, fields in raw_entries:
                try:
                    entries.append(keys.decode_fields(feed_key, entry_id, fields))
                except (KeyError, ValueError):
                    _log.warning("skipping malformed entry %s of feed %s", entry_id, feed_key)
            await self._offer(feed_key, entries)

    def _offer_signals(self, key: str, raw_entries: list[Any]) -> None:
        """Decode each signal once and hand it to the resource's subscribers that want signals."""
        feed_key = key[len(self._signal_keys) :]
        if feed_key not in self._with_signals or not raw_entries:
            return
        last_id = raw_entries[-1][0]
        self._read_ids[key] = last_id.decode() if isinstance(last_id, bytes) else str(last_id)
        subs = [sub for sub in self._subs.get(feed_key, ()) if sub.signals]
        for entry_id, fields in raw_entries:
            try:
                signal = signals.decode(feed_key, entry_id, fields)
            except (KeyError, ValueError):
                _log.warning("skipping malformed signal %s of %s", entry_id, feed_key)
                continue
            if signal is not None:
                for sub in subs:
                    sub.offer_signal(signal)

    async def _offer(self, feed_key: str, entries: list[FeedEntry]) -> None:
        """Offer new entries in sequence order, filling a gap from rm_feed once for every subscriber."""
        for entry in entries:
            last = self._last.get(feed_key)
            if last is None:
                return  # nobody follows the feed any more
            if last + 1 < entry.seq <= last + _MAX_GAP_FILL:
                # An entry published out of order (Redis rejects it once a later one is there) leaves a hole
                # in the stream; reading it here costs one query instead of one per subscriber.
                for missing in await self._read_range(feed_key, after=last, upto=entry.seq - 1):
                    self._deliver(missing)
            self._deliver(entry)

    def _deliver(self, entry: FeedEntry) -> None:
        subs = self._subs.get(entry.feed_key)
        if subs is None or entry.seq <= self._last[entry.feed_key]:
            return
        self._advance(entry.feed_key, entry.seq)
        for sub in subs:
            sub.offer(entry)

    async def _read_range(self, feed_key: str, *, after: int, upto: int) -> list[FeedEntry]:
        """Entries ``after < seq <= upto`` from rm_feed (empty on error: subscribers then fetch themselves)."""
        try:
            async with self._db.connection() as conn:
                found = await reads.entries(conn, feed_key, after=after, upto=upto, limit=_MAX_GAP_FILL)
        except (psycopg.Error, OSError) as exc:
            _log.warning("live reader could not read rm_feed: %s", exc)
            return []
        return found

    async def _degraded_pass(self) -> None:
        """Poll rm_feed for every followed feed, then check whether Redis is back."""
        await self._poll_db()
        try:
            await self._redis.ping()
        except (RedisError, OSError):
            await asyncio.sleep(self._poll_interval)
            return
        _log.info("live reader reached Redis again")
        # What was committed while Redis was away comes from rm_feed; continue reading Redis after it.
        await self._poll_db()
        self._set_degraded(value=False)
        # Signals sent while Redis was away are lost, and Redis may have lost presence and drafts too.
        for sub in self.subscriptions():
            sub.start_signals_over()

    async def _poll_db(self) -> None:
        """Offer what rm_feed has beyond each followed feed's last entry (the Redis-less path)."""
        try:
            async with self._db.connection() as conn:
                found = await reads.heads(conn, list(self._subs))
        except (psycopg.Error, OSError) as exc:
            _log.warning("live reader could not poll rm_feed_heads: %s", exc)
            return
        for feed_key, head in found.items():
            last = self._last.get(feed_key)
            if last is None or head <= last:
                continue
            await self._offer(feed_key, await self._read_range(feed_key, after=last, upto=head))
            # Whatever could not be read here (a replica behind) is fetched by the subscribers themselves.
            for sub in self._subs.get(feed_key, ()):
                sub.note_head(head)

    def _set_degraded(self, *, value: bool) -> None:
        self.degraded = value
        DEGRADED.set(1 if value else 0)
