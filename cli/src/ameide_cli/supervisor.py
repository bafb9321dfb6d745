"""Run child processes, restart the ones that crash, stop them all cleanly.

Used by ``ameide serve --workers N`` (N copies of one service sharing a port) and by ``ameide dev`` (the three
services). A child that exits while the supervisor is not stopping is reported and restarted after a backoff
that doubles up to ``MAX_BACKOFF`` and resets once a child has stayed up for ``STABLE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 10.0
STABLE_SECONDS = 30.0

OutputSink = Callable[[str, str], None]
EventSink = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """How to start one child: a display name, its argv and its complete environment."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Child:
    spec: ChildSpec
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    backoff: float = FIRST_BACKOFF
    restarts: int = 0


class Supervisor:
    """Starts every child, restarts crashed ones, and on ``stop`` sends SIGTERM then (after ``grace``) SIGKILL."""

    def __init__(
        self,
        specs: Sequence[ChildSpec],
        *,
        grace_seconds: float,
        on_output: OutputSink | None = None,
        on_event: EventSink | None = None,
    ) -> None:
        self._children = [_Child(spec) for spec in specs]
        self._grace = grace_seconds
        self._on_output = on_output
        self._on_event = on_event or (lambda _name, _text: None)
        self._stopping = False

    def pids(self) -> dict[str, int]:
        """The pid of each running child."""
        return {c.spec.name: c.process.pid for c in self._children if c.process is not None}

    async def run(self, stop: asyncio.Event) -> None:
        """Supervise until ``stop`` is set, then stop every child."""
        tasks = [asyncio.create_task(self._keep_running(child, stop)) for child in self._children]
        try:
            await stop.wait()
        finally:
            self._stopping = True
            await asyncio.gather(*(self._terminate(child) for child in self._children))
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _start(self, child: _Child) -> asyncio.subprocess.Process:
        pipe = asyncio.subprocess.PIPE if self._on_output is not None else None
        process = await asyncio.create_subprocess_exec(
            *child.spec.argv,
            env=dict(child.spec.env),
            stdout=pipe,
            stderr=asyncio.subprocess.STDOUT if pipe is not None else None,
            stdin=asyncio.subprocess.DEVNULL,
            # Own process group: Ctrl-C in a terminal reaches the supervisor only, which then stops children in order.
            start_new_session=True,
        )
        child.process, child.started_at = process, time.monotonic()
        self._on_event(child.spec.name, f"started (pid {process.pid})")
        return process

    async def _pump(self, child: _Child, process: asyncio.subprocess.Process) -> None:
        if self._on_output is None or process.stdout is None:
            return
        while line := await process.stdout.readline():
            self._on_output(child.spec.name, line.decode("utf-8", "replace").rstrip("\n"))

    async def _keep_running(self, child: _Child, stop: asyncio.Event) -> None:
        while not stop.is_set():
            process = await self._start(child)
            pump = asyncio.create_task(self._pump(child, process))
            code = await process.wait()
            await pump
            if stop.is_set() or self._stopping:
                return
            uptime = time.monotonic() - child.started_at
            child.backoff = FIRST_BACKOFF if uptime >= STABLE_SECONDS else child.backoff
            child.restarts += 1
            self._on_event(child.spec.name, f"exited with code {code}; restarting in {child.backoff:.1f}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), child.backoff)
            child.backoff = min(child.backoff * 2, MAX_BACKOFF)

    async def _terminate(self, child: _Child) -> None:
        process = child.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self._grace)
        except TimeoutError:
            self._on_event(child.spec.name, f"did not stop within {self._grace:.0f}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        self._on_event(child.spec.name, f"stopped (code {process.returncode})")
