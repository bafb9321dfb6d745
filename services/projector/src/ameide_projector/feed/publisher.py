"""Publish committed feed entries to Redis Streams, catch Redis up after outages, prune old entries.

Redis is a cache and a wake-up channel here, never the source of truth: ``rm_feed`` is. ``publish`` runs after
the projector's transaction commits and never raises; what did not reach Redis stays below the head in
``rm_feed_heads.published_seq`` and the catch-up loop republishes it. Republishing is idempotent because entry ids
are ``<seq>-0``: Redis rejects an id that is not above the stream's top.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_projector.config import ProjectorSettings
from ameide_projector.feed import store
from ameide_readmodel.feed import keys
from ameide_readmodel.feed.entries import FeedEntry

_log = logging.getLogger(__name__)

PUBLISHED = Counter("ameide_feed_published_total", "Feed entries written to Redis (including catch-up)")
PUBLISH_FAILURES = Counter("ameide_feed_publish_failures_total", "Feed entries that failed to reach Redis")
REPUBLISHED = Counter("ameide_feed_republished_total", "Feed entries republished by the catch-up loop")
PRUNED = Counter("ameide_feed_pruned_total", "Feed entries deleted after the resume-token TTL")

_PRUNE_CHUNK = 5000

# Every XADD of a publish in one server-side script call: redis-py packs each pipelined command and parses each
# reply in Python (about two thirds of the projector's publishing CPU went there), while a script call packs one
# flat argument list and gets one reply back. Each feed is then trimmed (approximately, as MAXLEN ~ would) and
# its TTL renewed once per call. Entries whose XADD fails come back as (position, error) pairs: a rejected id
# ("equal or smaller") means that entry is already there. Chunks are bounded because a script runs atomically:
# about a millisecond of Redis time per call, so readers' XREADs are never held up for long.
_SCRIPT_ENTRIES = 500
_PUBLISH_SCRIPT = f"""
local maxlen, ttl = ARGV[1], ARGV[2]
local failed = {{}}
for i = 3, #ARGV, 6 do
    local reply
    if ARGV[i + 5] == '' then
        reply = redis.pcall('XADD', KEYS[tonumber(ARGV[i])], ARGV[i + 1],
            '{keys.FIELD_PAYLOAD.decode()}', ARGV[i + 2], '{keys.FIELD_TENANT.decode()}', ARGV[i + 3],
            '{keys.FIELD_OCCURRED.decode()}', ARGV[i + 4])
    else
        reply = redis.pcall('XADD', KEYS[tonumber(ARGV[i])], ARGV[i + 1],
            '{keys.FIELD_PAYLOAD.decode()}', ARGV[i + 2], '{keys.FIELD_TENANT.decode()}', ARGV[i + 3],
            '{keys.FIELD_OCCURRED.decode()}', ARGV[i + 4], '{keys.FIELD_CHAT_VISIBILITY_BEFORE.decode()}', ARGV[i + 5])
    end
    if type(reply) == 'table' and reply.err then
        failed[#failed + 1] = (i - 3) / 6 + 1
        failed[#failed + 1] = reply.err
    end
end
for _, key in ipairs(KEYS) do
    redis.pcall('XTRIM', key, 'MAXLEN', '~', maxlen)
    redis.pcall('EXPIRE', key, ttl)
end
return failed
"""


def _already_published(result: object) -> bool:
    """An XADD rejected because its id is not above the top: the entry (or a later one) is there already."""
    return isinstance(result, ResponseError) and "equal or smaller" in str(result)


class FeedPublisher:
    """Moves feed entries from ``rm_feed`` to Redis; one per projector process."""

    def __init__(
        self,
        settings: ProjectorSettings,
        engine: AsyncEngine,
        redis: Redis,
        *,
        key_prefix: str = keys.KEY_PREFIX,
        catchup_interval: float = 1.0,
        prune_interval: float = 300.0,
        prune_margin_seconds: float = 3600.0,
        republish_tail: int = 100,
        catchup_batch: int = 500,
        publish_timeout: float = 2.0,
        breaker_seconds: float = 1.0,
    ) -> None:
        self._engine = engine
        self._redis = redis
        self._script = redis.register_script(_PUBLISH_SCRIPT)
        self._prefix = key_prefix
        self._maxlen = settings.feed_maxlen
        self._ttl = settings.resume_token_ttl_seconds
        self._catchup_interval = catchup_interval
        self._prune_interval = prune_interval
        # Rows are kept a margin beyond the TTL: an update projected late may carry an early occurred_at.
        self._retention = timedelta(seconds=settings.resume_token_ttl_seconds + prune_margin_seconds)
        self._tail = min(republish_tail, settings.feed_maxlen)
        self._batch = catchup_batch
        self._timeout = publish_timeout
        self._breaker = breaker_seconds
        self._skip_until = 0.0
        self._pending_marks: dict[str, int] = {}
        self._epoch: bytes | str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.failures = 0
        self.published = 0

    async def publish(self, entries: Sequence[FeedEntry]) -> None:
        """XADD committed entries (pipelined); never raises: failures are counted and caught up later."""
        if not entries:
            return
        if time.monotonic() < self._skip_until:
            # Redis failed a moment ago: the projector must not wait on it batch after batch (a blackholed host
            # costs the whole timeout each time). The catch-up loop republishes these from rm_feed.
            self.failures += len(entries)
            PUBLISH_FAILURES.inc(len(entries))
            return
        await self._send(entries)

    async def _send(self, entries: Sequence[FeedEntry]) -> bool:
        """Publish now; True when every entry is in Redis (or was already)."""
        try:
            async with asyncio.timeout(self._timeout):
                results = await self._xadd(entries)
        except (RedisError, OSError, TimeoutError) as exc:
            self._count_failure(len(entries), exc)
            self._skip_until = time.monotonic() + self._breaker
            return False
        failed = 0
        for entry, result in zip(entries, results, strict=False):
            if isinstance(result, Exception) and not _already_published(result):
                failed += 1
                continue
            if self._pending_marks.get(entry.feed_key, 0) < entry.seq:
                self._pending_marks[entry.feed_key] = entry.seq
        if failed:
            self._count_failure(failed, next(r for r in results if isinstance(r, Exception)))
        self.published += len(entries) - failed
        PUBLISHED.inc(len(entries) - failed)
        return not failed

    async def _xadd(self, entries: Sequence[FeedEntry]) -> list[object]:
        """Send ``entries`` in script calls of ``_SCRIPT_ENTRIES``; per entry ``None`` or its XADD's error."""
        results: list[object] = []
        for start in range(0, len(entries), _SCRIPT_ENTRIES):
            results.extend(await self._xadd_chunk(entries[start : start + _SCRIPT_ENTRIES]))
        return results

    async def _xadd_chunk(self, entries: Sequence[FeedEntry]) -> list[object]:
        index: dict[str, bytes] = {}
        args: list[bytes | int] = [self._maxlen, self._ttl]
        for entry in entries:
            slot = index.get(entry.feed_key)
            if slot is None:
                slot = index[entry.feed_key] = str(len(index) + 1).encode()
            payload, tenant, occurred, before = keys.field_values(entry)
            args += (slot, keys.entry_id(entry.seq).encode(), payload, tenant, occurred, before)
        stream_keys = [keys.stream_key(feed_key, self._prefix) for feed_key in index]
        failed = await self._script(keys=stream_keys, args=args)
        results: list[object] = [None] * len(entries)
        for position, message in zip(failed[::2], failed[1::2], strict=True):
            text = message.decode() if isinstance(message, bytes) else str(message)
            results[int(position) - 1] = ResponseError(text)
        return results

    def _count_failure(self, count: int, exc: BaseException) -> None:
        self.failures += count
        PUBLISH_FAILURES.inc(count)
        _log.warning("feed publish to Redis failed for %d entries (caught up later): %s", count, exc)

    async def flush_marks(self) -> None:
        """Persist the published high-water marks gathered since the last flush."""
        marks, self._pending_marks = self._pending_marks, {}
        if not marks:
            return
        try:
            async with self._engine.begin() as conn:
                await store.mark_published(conn, marks)
        except SQLAlchemyError:
            # Keep them for the next attempt; losing them only costs a harmless republish.
            for key, seq in marks.items():
                self._pending_marks[key] = max(seq, self._pending_marks.get(key, 0))
            raise

    async def catch_up(self) -> int:
        """One catch-up pass: republish whatever Redis may lack; return how many entries were republished."""
        await self.flush_marks()
        await self._check_epoch()
        self._skip_until = 0.0  # Redis answers again: publish directly from now on
        total = 0
        while True:
            async with self._engine.connect() as conn:
                feeds = await store.unpublished_feeds(conn, limit=self._batch)
                # Only the tail inside the Redis window matters; readers fill older gaps from rm_feed.
                ranges = [(key, max(published, head - self._maxlen), head) for key, published, head in feeds]
                entries = await store.entries_between(conn, ranges)
            if not feeds:
                return total
            if entries and not await self._send(entries):
                self._pending_marks.clear()
                return total
            # Feeds whose retained entries were pruned have nothing to send: their head counts as published.
            self._pending_marks.update({key: head for key, _, head in feeds})
            await self.flush_marks()
            total += len(entries)
            REPUBLISHED.inc(len(entries))
            if len(feeds) < self._batch:
                return total

    async def _check_epoch(self) -> None:
        """Detect that Redis lost its data (flushed, restarted empty) and schedule a republish of every tail."""
        key = keys.epoch_key(self._prefix)
        value = await self._redis.get(key)
        if value is not None:
            self._epoch = value
            return
        await self._redis.set(key, uuid.uuid4().hex, nx=True)
        self._epoch = await self._redis.get(key)
        async with self._engine.begin() as conn:
            count = await store.forget_published(conn, tail=self._tail)
        _log.warning("Redis has no feed epoch (new, flushed or restarted empty): republishing %d feeds", count)

    async def prune(self, *, now: datetime | None = None) -> int:
        """Delete feed entries older than the token TTL (plus margin); heads stay. Return how many."""
        cutoff = (now or datetime.now(UTC)) - self._retention
        total = 0
        while True:
            async with self._engine.begin() as conn:
                deleted = await store.prune_before(conn, cutoff, limit=_PRUNE_CHUNK)
            total += deleted
            if deleted < _PRUNE_CHUNK:
                PRUNED.inc(total)
                return total

    async def start(self) -> None:
        """Start the catch-up and pruning loops."""
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self._loop(self.catch_up, self._catchup_interval), name="feed-catch-up"),
            asyncio.create_task(self._loop(self.prune, self._prune_interval), name="feed-prune"),
        ]

    async def stop(self) -> None:
        """Stop the loops and persist the last marks (best effort)."""
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(SQLAlchemyError, OSError):
            await self.flush_marks()

    async def _loop(self, step: Callable[[], Awaitable[int]], interval: float) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                await step()
            except (RedisError, OSError, TimeoutError, SQLAlchemyError) as exc:
                _log.warning("feed %s pass failed, retrying: %s", getattr(step, "__name__", "maintenance"), exc)
            delay = max(0.0, interval - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
