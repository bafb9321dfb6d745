"""Baseline servers as child processes: each prints ``PORT <n>`` once it listens and stops when its stdin closes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import grpc.aio

from ameide_bench.cpu import tree_cpu_seconds

START_TIMEOUT = 60.0

Op = Callable[[], Awaitable[None]]


async def serve_until_stdin_closes(server: grpc.aio.Server) -> None:
    """Listen on a free loopback port, print it for the parent, and serve until the parent closes our stdin."""
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"PORT {port}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.stop(1)


@dataclass(frozen=True, slots=True)
class Child:
    """A running server: its ``host:port`` and its process."""

    target: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time the server (and any workers of it) used so far."""
        return tree_cpu_seconds(self.pid)


@contextlib.asynccontextmanager
async def child_server(
    module: str, *args: str, launcher: Sequence[str] = (), start_timeout: float = START_TIMEOUT
) -> AsyncIterator[Child]:
    """``python -m module args...`` (serving through ``serve_until_stdin_closes``) for the block.

    ``launcher``: a command the server runs under (``valgrind ...``, which keeps the process id).
    """
    proc = await asyncio.create_subprocess_exec(
        *launcher, sys.executable, "-m", module, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdin is not None  # noqa: S101 - requested above
    assert proc.stdout is not None  # noqa: S101 - requested above
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), start_timeout)).decode()
        if not line.startswith("PORT "):
            raise RuntimeError(f"{module} did not start: {line!r}")
        yield Child(f"127.0.0.1:{line.split()[1]}", proc.pid)
    finally:
        proc.stdin.close()
        await proc.wait()


def fixed_call_ops(channels: Sequence[grpc.aio.Channel], method: str, request: bytes) -> list[Op]:
    """One op per channel, each calling ``method`` (bytes in, bytes out) with the same ``request``."""
    ops: list[Op] = []
    for channel in channels:
        call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method)

        async def op(call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = call) -> None:
            await call(request)

        ops.append(op)
    return ops
