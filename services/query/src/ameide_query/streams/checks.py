"""Heartbeat access checks shared by the streams of one caller on one resource.

Every quiet heartbeat re-checks that the caller may still read the resource (and notes the feed head, a safety net
for a lost notification). A user with many tabs on one chat, or a dashboard of many subscribers, would run the same
two statements once per stream per heartbeat; here the streams with the same key share one check in flight and
reuse its result for a short window. Only heartbeats use this: a check triggered by an update that may change
access (visibility, deletion, unlinking) always runs fresh.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one heartbeat check found."""

    readable: bool
    head: int


class SharedChecks:
    """Single-flight checks with results reused for ``window`` seconds."""

    def __init__(self, window: float) -> None:
        self._window = window
        self._recent: dict[Hashable, tuple[float, CheckResult]] = {}
        self._pending: dict[Hashable, asyncio.Future[CheckResult]] = {}
        self._prune_at = 64

    async def check(self, key: Hashable, run: Callable[[], Awaitable[CheckResult]]) -> CheckResult:
        """The result of a check of ``key`` at most ``window`` old, running ``run`` when there is none."""
        recent = self._recent.get(key)
        if recent is not None and time.monotonic() - recent[0] < self._window:
            return recent[1]
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(run())
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._finished(key, done))
        # Shielded: a stream cancelled while waiting must not cancel the check the other streams wait for.
        return await asyncio.shield(pending)

    def _finished(self, key: Hashable, done: asyncio.Future[CheckResult]) -> None:
        self._pending.pop(key, None)
        if done.cancelled() or done.exception() is not None:
            return  # failures are not reused: the next heartbeat tries again
        self._recent[key] = (time.monotonic(), done.result())
        if len(self._recent) >= self._prune_at:
            cutoff = time.monotonic() - self._window
            self._recent = {k: v for k, v in self._recent.items() if v[0] >= cutoff}
            self._prune_at = max(64, 2 * len(self._recent))

    def __len__(self) -> int:
        return len(self._recent)
