"""Instructions per request of the command deployable beside its floor, counted by callgrind: immune to machine noise.

Rates and CPU times move with whatever else runs on a shared machine; the instructions a server executes per
request barely do. This runs the real command deployable and the floor server (``ameide_bench.floor``: a bare
grpc.aio server doing one raw append transaction per call) under ``valgrind --tool=callgrind`` with
instrumentation off while they start, switches it on, drives each variant at concurrency ``c`` from this process
(warm-up calls first, then ``--calls`` counted ones) and reads the instructions each server executed in between.
User-space instructions only: the kernel's share of system calls is not counted. Needs valgrind (callgrind_control).

Run ``python -m ameide_bench.instructions --database-url URL --redis-url URL [--calls N] [--concurrency C]
[--variants floor,send,keyed,ensure]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import pickle
import secrets
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from ameide_bench.children import Child, Op
from ameide_bench.command import client_channels, command_server, ensure_ops, send_ops, send_reply_size
from ameide_bench.eventstore import RAW_DDL, scratch_database
from ameide_bench.floor import append_ops
from ameide_runtime.auth import mint_token

VARIANTS = ("floor", "send", "keyed", "ensure")
START_TIMEOUT = 120.0  # a Python server starts a few times slower under valgrind
ARTIFACTS_PER_WORKER = 4


def _launcher(folder: Path) -> list[str]:
    """Callgrind, counting nothing until ``callgrind_control -i on``; one output file per process and dump."""
    return [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=yes",
        f"--callgrind-out-file={folder}/callgrind.%p",
    ]  # fmt: skip


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True)  # noqa: S603, S607 - valgrind's tool


def _dumped_instructions(folder: Path, pid: int) -> int:
    """Dump ``pid``'s counts since its last dump (or zeroing) and return them; the dump files are then removed."""
    for old in folder.glob(f"callgrind.{pid}*"):
        old.unlink()
    _control("--dump", str(pid))
    total = 0
    for dump in folder.glob(f"callgrind.{pid}*"):
        for line in dump.read_text(errors="replace").splitlines():
            if line.startswith(("summary:", "totals:")):
                total = max(total, int(line.split()[1]))
        dump.unlink()
    return total


@contextlib.asynccontextmanager
async def _floor(libpq: str, launcher: Sequence[str]) -> AsyncIterator[Child]:
    """The floor server (raw appends) under ``launcher``, as ``ameide_bench.floor.floor_server`` starts it."""
    with tempfile.TemporaryDirectory() as folder:
        workloads = Path(folder) / "workloads.pickle"
        workloads.write_bytes(pickle.dumps({}))
        command = [*launcher, sys.executable, "-m", "ameide_bench.floor"]
        proc = await asyncio.create_subprocess_exec(
            command[0], *command[1:], "--database", libpq, "--workloads", str(workloads),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdin is not None  # noqa: S101 - requested above
        assert proc.stdout is not None  # noqa: S101 - requested above
        try:
            line = (await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)).decode()
            if not line.startswith("PORT "):
                raise RuntimeError(f"the floor server did not start: {line!r}")
            yield Child(f"127.0.0.1:{line.split()[1]}", proc.pid)
        finally:
            proc.stdin.close()
            await proc.wait()


async def _drive(ops: Sequence[Op], calls: int) -> int:
    """``calls`` calls spread over the workers (each runs its share back to back); the number made."""
    share = max(1, calls // len(ops))

    async def worker(op: Op) -> None:
        for _ in range(share):
            await op()

    await asyncio.gather(*(worker(op) for op in ops))
    return share * len(ops)


async def measure(
    database_url: str, redis_url: str, *, calls: int, concurrency: int, variants: Sequence[str]
) -> dict[str, float]:
    """Instructions per request of each variant (``floor`` is the floor server's)."""
    jwt_secret = secrets.token_urlsafe(32)
    metadata = (("authorization", f"Bearer {mint_token(jwt_secret, user_id='bench-user', tenant_id='bench')}"),)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ameide-callgrind-") as scratch:
        folder = Path(scratch)
        launcher = _launcher(folder)
        async with scratch_database(database_url) as url:
            libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            async with await psycopg.AsyncConnection.connect(libpq, autocommit=True) as conn:
                for statement in RAW_DDL:
                    await conn.execute(statement)
            async with contextlib.AsyncExitStack() as stack:
                command = await stack.enter_async_context(command_server(url, redis_url, jwt_secret, launcher=launcher))
                floor = await stack.enter_async_context(_floor(libpq, launcher))
                channels = await stack.enter_async_context(
                    client_channels(command.target, concurrency, own_connections=False)
                )
                floor_channels = await stack.enter_async_context(
                    client_channels(floor.target, concurrency, own_connections=False)
                )
                size = await send_reply_size(channels[0], metadata)
                for child in (command, floor):
                    _control("--instr=on", str(child.pid))
                for variant in variants:
                    if variant == "floor":
                        ops, pid = append_ops(floor_channels, size), floor.pid
                    elif variant == "ensure":
                        ops, pid = await ensure_ops(channels, metadata, ARTIFACTS_PER_WORKER), command.pid
                    else:
                        ops, pid = await send_ops(channels, metadata, keyed=variant == "keyed"), command.pid
                    await _drive(ops, calls)  # warm: code paths, connections, prepared statements
                    _dumped_instructions(folder, pid)
                    made = await _drive(ops, calls)
                    results[variant] = _dumped_instructions(folder, pid) / made
    return results


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ameide_bench.instructions --database-url URL --redis-url URL [...]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True, help="any database on the server; a scratch one is used")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--calls", type=int, default=240, help="counted calls per variant (as many warm it up)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants: {', '.join(unknown)}")
    results = asyncio.run(
        measure(args.database_url, args.redis_url, calls=args.calls, concurrency=args.concurrency, variants=variants)
    )
    floor = results.get("floor")
    for variant, instructions in results.items():
        beside = f"  {instructions / floor:.2f}x the floor" if floor and variant != "floor" else ""
        print(f"{variant:8s} {instructions / 1000:8,.0f} k instructions/request{beside}")


if __name__ == "__main__":
    main()
