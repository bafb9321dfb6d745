"""What this machine can do at most: CPU time per operation, over every process, from /proc/stat.

A figure's baseline says how fast the bare parts run; it does not say whether a target above the figure is
reachable here. When the benchmark client, the servers and PostgreSQL share the same cores, a request that must do
the work of two baselines (a gRPC call, and an append transaction) costs at least the CPU time of both, so

    ceiling rps = cores / (CPU seconds per baseline-A operation + CPU seconds per baseline-B operation)

bounds every implementation on this machine, whatever its code. Busy time is counted machine-wide (everything but
idle and I/O wait), so the client's share and the database's share are both in it.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_IDLE_FIELDS = (3, 4)  # idle, iowait (fields after "cpu" in /proc/stat)


def busy_seconds() -> float:
    """CPU seconds every core spent busy since boot (0.0 where /proc/stat is unavailable)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    ticks = sum(int(value) for index, value in enumerate(fields[:8]) if index not in _IDLE_FIELDS)
    return ticks / os.sysconf("SC_CLK_TCK")


def cores() -> int:
    """The cores the machine has (everything on it shares them)."""
    return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class Metered:
    """Operations done in a cell and the machine's busy CPU seconds meanwhile."""

    operations: int
    busy: float

    @property
    def cpu_us_per_op(self) -> float:
        """Machine CPU microseconds per operation."""
        return self.busy / max(1, self.operations) * 1e6


async def metered(run: Callable[[], Awaitable[T]], operations: Callable[[T], int]) -> tuple[T, Metered]:
    """Run a cell and meter the machine's busy time over it."""
    before = busy_seconds()
    result = await run()
    return result, Metered(operations(result), busy_seconds() - before)


def ceiling_rps(*parts: Metered) -> float:
    """The most operations per second this machine could do if each one needed the work of every part."""
    per_op = sum(part.busy / max(1, part.operations) for part in parts)
    return cores() / per_op if per_op > 0 else float("nan")
