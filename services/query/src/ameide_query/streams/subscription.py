"""One subscriber's mailbox: a bounded queue of feed entries filled by the shared reader."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from ameide_query.live.signals import Signal
from ameide_readmodel.feed.entries import FeedEntry
from ameide_runtime.errors import AmeideError


class Subscription:
    """What the shared reader knows about one subscriber, and how it wakes it.

    ``known_head`` is the highest sequence known to exist in the feed: the subscriber fetches whatever it has not
    received up to it (from Redis, else ``rm_feed``), so an entry that never reached the queue (dropped during
    replay, missed while Redis was down) is never lost. Once ``live``, a full queue means the subscriber cannot
    keep up: it is marked ``overflowed`` and its stream ends with RESOURCE_EXHAUSTED.

    Live signals (``signals``: subscribers that asked for them) queue beside the entries, bounded the same way;
    they are ephemeral, so a full queue cuts nobody: it is emptied and ``signals_lost`` makes the stream start its
    signals over from a snapshot.
    """

    __slots__ = (
        "_event",
        "_maxsize",
        "_queue",
        "_signals",
        "closed",
        "feed_key",
        "known_head",
        "live",
        "overflowed",
        "signals",
        "signals_lost",
    )

    def __init__(self, feed_key: str, *, maxsize: int, signals: bool = False) -> None:
        self.feed_key = feed_key
        self.signals = signals
        self.signals_lost = False
        self._signals: deque[Signal] = deque()
        self.known_head = 0
        self.live = False
        self.overflowed = False
        self.closed: AmeideError | None = None
        self._maxsize = maxsize
        self._queue: deque[FeedEntry] = deque()
        self._event = asyncio.Event()

    def offer(self, entry: FeedEntry) -> None:
        """Called by the shared reader for each new entry of the feed."""
        self.known_head = max(self.known_head, entry.seq)
        if len(self._queue) < self._maxsize:
            self._queue.append(entry)
        elif self.live:
            self.overflowed = True
        # While replaying, a dropped entry is simply fetched again once replay reaches it.
        self._event.set()

    def go_live(self, expected: int) -> None:
        """Replay is over: drop what it already delivered and start counting overflows.

        A queue that filled up during a long replay is emptied: ``known_head`` still says what exists, so those
        entries are fetched in pages instead of cutting a subscriber that was never slow.
        """
        while self._queue and self._queue[0].seq < expected:
            self._queue.popleft()
        if len(self._queue) * 2 >= self._maxsize:
            self._queue.clear()
        self.live = True

    def note_head(self, seq: int) -> None:
        """The feed has entries up to ``seq`` (learned without their content, e.g. by polling rm_feed)."""
        if seq > self.known_head:
            self.known_head = seq
            self._event.set()

    def offer_signal(self, signal: Signal) -> None:
        """Called by the shared reader for each signal of the resource (only when ``signals`` is on)."""
        if len(self._signals) < self._maxsize:
            self._signals.append(signal)
        else:
            self._signals.clear()
            self.signals_lost = True
        self._event.set()

    def pop_signal(self) -> Signal | None:
        """The oldest queued signal, if any."""
        return self._signals.popleft() if self._signals else None

    def start_signals_over(self) -> None:
        """What the subscriber was told about signals may be stale (Redis lost data or came back): read afresh."""
        if self.signals:
            self._signals.clear()
            self.signals_lost = True
            self._event.set()

    def close(self, error: AmeideError) -> None:
        """End the subscriber's stream with ``error`` (server shutdown)."""
        self.closed = error
        self._event.set()

    def peek(self) -> FeedEntry | None:
        """The oldest queued entry, left in the queue."""
        return self._queue[0] if self._queue else None

    def pop(self) -> FeedEntry | None:
        """The oldest queued entry, if any."""
        return self._queue.popleft() if self._queue else None

    async def wait(self, seconds: float) -> bool:
        """Wait until something is offered (True) or ``seconds`` pass (False)."""
        if not self._event.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._event.wait()
        woke = self._event.is_set()
        self._event.clear()
        return woke
