"""Faults at seeded moments of a load: the moment is a count of acknowledged writes, never a clock."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Awaitable, Callable, Sequence

from tests.reliability.rel_client import Stubs, Tally
from tests.reliability.rel_load import WRITE_DEADLINE, Ledger, World, reader, writer

# No step of a scenario waits longer than this for its condition (a guard against hangs, not a timing assertion).
STALL_SECONDS = 120.0


@dataclasses.dataclass
class Progress:
    """Acknowledged writes so far, and waiters for a count."""

    acked: int = 0
    finished: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    _changed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def tick(self) -> None:
        """One more write was acknowledged."""
        self.acked += 1
        self._changed.set()

    async def reach(self, count: int, *, within: float = STALL_SECONDS) -> None:
        """Return once ``count`` writes were acknowledged (a stalled load fails the scenario, it never hangs it)."""
        try:
            async with asyncio.timeout(within):
                while self.acked < count:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(
                f"the load stalled at {self.acked} acknowledged writes (waiting for {count})"
            ) from None


async def until(condition: Callable[[], bool], what: str, *, within: float = STALL_SECONDS) -> None:
    """Wait (bounded) until ``condition()`` holds; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {within}s waiting for {what}")
        await asyncio.sleep(0.05)


def gaps(seed: int, faults: int, *, low: int = 5, high: int = 40) -> list[int]:
    """Seeded numbers of acknowledged writes to wait for before each fault (counted from the previous recovery)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible fault schedule
    return [rng.randrange(low, high) for _ in range(faults)]


Fault = Callable[[], None]


async def inject(
    progress: Progress, schedule: Sequence[tuple[int, str, Fault]], log: list[str], *, settle: int = 20
) -> None:
    """Run each blocking fault (in a thread, so clients keep going) once its gap of writes has passed.

    The load keeps going until every fault has run and ``settle`` more writes succeeded after the last recovery.
    """
    try:
        for gap, label, fault in schedule:
            await progress.reach(progress.acked + gap)
            started = time.monotonic()
            at = progress.acked
            await asyncio.to_thread(fault)
            log.append(f"{label} at write {at} (back after {time.monotonic() - started:.1f}s)")
        await progress.reach(progress.acked + settle)
    finally:
        progress.finished.set()


async def mixed_load(
    world: World,
    clients: Stubs,
    ledger: Ledger,
    tally: Tally,
    *,
    writers: int,
    ops: int,
    seed: int,
    during: Callable[[Progress], Awaitable[None]] | None = None,
    readers: int = 2,
    violations: list[str],
    deadline: float = WRITE_DEADLINE,
) -> Progress:
    """``writers`` x ``ops`` keyed writes with ``readers`` read-your-writes readers, and an optional fault task.

    With ``during``, writers go on until it has finished (``Progress.finished``), within their bound.
    """
    progress = Progress()
    done = asyncio.Event()
    reading = [
        asyncio.create_task(reader(ledger, clients, tally, done, seed=seed + 100 + i, violations=violations))
        for i in range(readers)
    ]
    jobs = [
        writer(
            world,
            clients,
            ledger,
            tally,
            ops=ops,
            seed=seed * 1000 + i,
            progress=progress.tick,
            until=progress.finished if during is not None else None,
            deadline=deadline,
        )
        for i in range(writers)
    ]
    try:
        if during is not None:
            await asyncio.gather(*jobs, during(progress))
        else:
            await asyncio.gather(*jobs)
    finally:
        done.set()
        await asyncio.gather(*reading)
    return progress
