"""Turns passed deadlines into signals: LEFT / TYPING_STOPPED for presence, abandoned (EXPIRED) for drafts.

Deadlines are filed in two sorted sets (``presence:due``, ``drafts:due``), so finding what expired is a range read,
never a scan. The sweeper sleeps until the earliest deadline, but never longer than the shortest TTL: a deadline
filed later (by this or another replica) is at least that far away from its filing, so it is never overslept.
Every query replica runs one; the scripts are atomic, so two replicas settling the same deadline publish once.
An expiry therefore reaches subscribers a few milliseconds after its deadline (the wake-up, one script, the live
reader), however many entries are filed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from prometheus_client import Counter
from redis.exceptions import RedisError

from ameide_query.live.clock import Clock, millis, wall_clock
from ameide_query.live.drafts import DraftStore
from ameide_query.live.presence import PresenceStore

_log = logging.getLogger(__name__)

EXPIRED = Counter(
    "ameide_live_expired_total", "Presences settled and drafts abandoned because a deadline passed", ["what"]
)
SWEEP_FAILURES = Counter("ameide_live_sweeper_failures_total", "Sweeper passes that could not reach Redis")
BATCH = 100
_MIN_SLEEP = 0.005
_RETRY_SECONDS = 1.0


class Sweeper:
    """The expiry loop of one query process."""

    def __init__(self, presence: PresenceStore, drafts: DraftStore, *, clock: Clock = wall_clock) -> None:
        self._presence = presence
        self._drafts = drafts
        self._clock = clock
        self._longest_sleep = min(presence.typing_ttl_ms, drafts.ttl_ms) / 1000
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.failures = 0
        """Passes that could not reach Redis (the loop goes on; for metrics and tests)."""

    async def sweep(self) -> int:
        """Settle everything due now; how many presences and drafts were settled."""
        settled = 0
        for what, expire in (("presence", self._presence.expire), ("draft", self._drafts.expire)):
            while True:
                count = await expire(BATCH)
                settled += count
                EXPIRED.labels(what).inc(count)
                if count < BATCH:
                    break
        return settled

    async def seconds_until_due(self) -> float:
        """How long the loop may sleep now."""
        dues = [
            due for due in (await self._presence.next_due_ms(), await self._drafts.next_due_ms()) if due is not None
        ]
        if not dues:
            return self._longest_sleep
        wait = (min(dues) - millis(self._clock)) / 1000
        return min(self._longest_sleep, max(_MIN_SLEEP, wait))

    async def start(self) -> None:
        """Start the loop."""
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="live-signal-sweeper")

    async def stop(self) -> None:
        """Stop the loop."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.sweep()
                pause = await self.seconds_until_due()
            except (RedisError, OSError) as exc:
                # Presence rebuilds from the next announcements once Redis is back; nothing to repair here.
                self.failures += 1
                SWEEP_FAILURES.inc()
                _log.warning("live-signal sweeper cannot reach Redis: %s", exc)
                pause = _RETRY_SECONDS
            except Exception:  # noqa: BLE001 - logged with its traceback; the loop must outlive surprises
                _log.exception("live-signal sweeper failed; continuing")
                pause = _RETRY_SECONDS
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._stop.wait()
