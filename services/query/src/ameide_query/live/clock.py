"""Time for live signals: deadlines are milliseconds on the caller's clock (injectable, so tests can move it)."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


def wall_clock() -> float:
    """Seconds since the epoch (every query replica's clock; NTP keeps them within milliseconds)."""
    return time.time()


def millis(clock: Clock) -> int:
    """``clock``'s now in whole milliseconds."""
    return int(clock() * 1000)
