"""CPU time of processes on this machine, from /proc: a server's own, and PostgreSQL's, per request.

Wall-clock rates move with whatever else runs on a shared machine; CPU time per request moves much less, and it is
what a capacity model needs (cores per deployable, per RPC kind). Where /proc is unavailable (or the database runs
elsewhere) the figures are absent, never guessed.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import psycopg

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` used so far; None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime (fields 14 and 15 of proc(5))


def process_name(pid: int) -> str:
    """The command name of process ``pid`` on this machine ("" when there is none)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    """The direct children of ``pid``."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its direct children (a server and its workers) so far."""
    return sum(process_cpu_seconds(p) or 0.0 for p in (pid, *children(pid)))


class DatabaseCpu:
    """CPU time of the PostgreSQL backends serving one database (on this machine), sampled around a cell.

    Only that database's backends count: other databases on a shared server do not, and neither do the server's
    background processes (WAL writer, checkpointer), which a commit's own flush mostly bypasses. A backend that
    starts within a cell counts in full; one that exits within it is lost (the benchmark's pools keep theirs).
    """

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def sample(self) -> dict[int, float] | None:
        """CPU seconds so far of each backend of the database; None when they cannot be read (a remote server)."""
        cursor = await self._conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        seconds: dict[int, float] = {}
        for (pid,) in await cursor.fetchall():
            spent = process_cpu_seconds(int(pid))
            if spent is None:
                return None
            seconds[int(pid)] = spent
        return seconds


def spent(before: dict[int, float] | None, after: dict[int, float] | None) -> float | None:
    """The CPU seconds between two samples of ``DatabaseCpu`` (None if either is unavailable)."""
    if before is None or after is None:
        return None
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())
