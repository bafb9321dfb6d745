"""Counting a server's instructions per request with callgrind: what the two instruction tools share.

Rates and CPU times move with whatever else runs on a shared machine; the instructions a server executes per
request barely do. A server started under ``prefix`` counts nothing until ``control("--instr=on", pid)``; a
caller then drives requests from its own process and reads the instructions executed in between from a dump
(every thread of the server, user space only: the kernel's share of system calls is not counted).
``ameide_bench.instructions`` uses it for the command deployable, ``ameide_bench.cost_query`` for the query reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from ameide_bench.children import Child, Op, child_server

# Valgrind runs a Python server tens of times slower: start-up takes minutes, not seconds.
START_TIMEOUT = 600.0


def prefix(out: Path | str) -> list[str]:
    """The command that runs a server under callgrind, counting nothing until switched on.

    ``out``: callgrind's output file (``%p`` in it is the process id); each dump is written beside it.
    """
    return [
        "valgrind",
        "--tool=callgrind",
        "--quiet",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        "--dump-line=no",
        "--compress-strings=no",
    ]


async def control(*args: str) -> None:
    """Run ``callgrind_control`` (switch counting on or off, zero, dump)."""
    proc = await asyncio.create_subprocess_exec(
        "callgrind_control", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    if await proc.wait() != 0:
        raise RuntimeError(f"callgrind_control {' '.join(args)} failed")


def instructions(dump: Path, *, missing: int | None = None) -> int:
    """The instruction total of one callgrind dump; ``missing`` where it has none (else an error).

    The process's own output file exists, without a total, until the process ends.
    """
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    if missing is not None:
        return missing
    raise RuntimeError(f"no instruction total in {dump}")


async def drive(ops: Sequence[Op], calls: int) -> int:
    """``calls`` requests spread over the ops (one caller each, back to back), all callers at once; the number made."""
    per = max(1, calls // len(ops))

    async def caller(op: Op) -> None:
        for _ in range(per):
            await op()

    await asyncio.gather(*(caller(op) for op in ops))
    return per * len(ops)


def floor_under(launcher: Sequence[str], libpq: str, workloads: Path) -> AbstractAsyncContextManager[Child]:
    """The floor server (``ameide_bench.floor``) run with ``launcher`` in front.

    ``workloads``: the floor's workloads file; an empty one makes it the command bench's raw-append floor.
    """
    args = ("--database", libpq, "--workloads", str(workloads))
    return child_server("ameide_bench.floor", *args, launcher=launcher, start_timeout=START_TIMEOUT)
