"""Live signals inside one stream (``include_signals``): when they start, how they interleave, when they start over.

They start after CAUGHT_UP: the live reader follows the resource's signal stream, then a snapshot is read and sent
(``LiveView``). Then each turn of the stream sends its durable updates first and its queued signals after; a draft
completion follows the message it replaces. A stream whose signals could not start (Redis unreachable), whose signal
queue overflowed, whose live reader lost Redis, or which finds at a heartbeat that Redis lost its data (the epoch
changed) starts its signals over with a new snapshot, so a stale "typing" never outlives one heartbeat.
Signals never touch the durable sequence: they carry no checkpoint token and are not counted as traffic that would
postpone a heartbeat.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from ameide_query.live.signals import Update
from ameide_query.live.snapshots import Snapshots
from ameide_query.streams.hub import FeedHub
from ameide_query.streams.live_view import LiveView
from ameide_query.streams.subscription import Subscription

_log = logging.getLogger(__name__)


class NoSignals:
    """A stream without signals: every hook is a no-op."""

    async def begin(self) -> list[Update]:
        """Nothing to start."""
        return []

    async def drain(self, delivered: int) -> list[Update]:  # noqa: ARG002 - the interface of SignalFollower
        """Nothing queued."""
        return []

    def after_durable(self, update: Update, delivered: int) -> list[Update]:  # noqa: ARG002 - as above
        """Nothing follows."""
        return []

    async def heartbeat(self, delivered: int) -> list[Update]:  # noqa: ARG002 - as above
        """Nothing to check."""
        return []


class SignalFollower(NoSignals):
    """Feeds one stream's ``LiveView`` from its subscription."""

    def __init__(self, view: LiveView, hub: FeedHub, sub: Subscription, snapshots: Snapshots) -> None:
        self._view = view
        self._hub = hub
        self._sub = sub
        self._snapshots = snapshots
        # Signals could not start (Redis unreachable): try again at the next heartbeat, or when the live reader
        # reaches Redis again, not at every update the stream sends meanwhile.
        self._waiting_for_redis = False

    async def begin(self) -> list[Update]:
        """Follow the resource's signals, then the snapshot that starts them (none while Redis is unreachable)."""
        self._sub.signals_lost = False
        try:
            await self._hub.follow_signals(self._sub.feed_key)
            updates = await self._view.start_over()
        except (RedisError, OSError) as exc:
            _log.warning("live signals of %s wait for Redis: %s", self._sub.feed_key, exc)
            self._waiting_for_redis = True
            return []
        self._waiting_for_redis = False
        return updates

    async def drain(self, delivered: int) -> list[Update]:
        """The updates of the queued signals (or of a fresh start when the queue could not be trusted)."""
        if self._sub.signals_lost:
            return await self.begin()
        out: list[Update] = []
        while (signal := self._sub.pop_signal()) is not None:
            try:
                out.extend(await self._view.on_signal(signal, delivered))
            except (RedisError, OSError):
                self._waiting_for_redis = True  # the rest of the queue is stale by the time Redis is back
                break
        return out

    def after_durable(self, update: Update, delivered: int) -> list[Update]:
        """Completions that were waiting for this update."""
        return self._view.after_durable(update, delivered)

    async def heartbeat(self, delivered: int) -> list[Update]:
        """A start over when Redis lost its data since the snapshot (or signals are still waiting to start)."""
        try:
            if self._waiting_for_redis or await self._snapshots.epoch() != self._view.epoch:
                return await self.begin()
        except (RedisError, OSError):
            return []
        return list(self._view.release(delivered))
