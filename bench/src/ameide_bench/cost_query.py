"""Instructions per request of the query server's reads beside the floor's, counted by callgrind (no machine noise).

Wall-clock latency and even CPU time per request move with whatever else loads a shared machine; the number of
instructions a server executes per request does not. This seeds the quick model of ``ameide_bench.query``, runs
the real query deployable and the floor server (``ameide_bench.floor``) under ``valgrind --tool=callgrind`` with
instrumentation off, drives each RPC from this process at concurrency 8 (warm-up first), and counts the
instructions each server executes over ``--calls`` requests (every thread of it: gRPC's own included), switched
on and off around them with ``callgrind_control``. Run
``python -m ameide_bench.cost_query --database-url URL [--redis-url URL] [--calls N] [--kinds GetMessages,...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from ameide_bench.children import Child, Op
from ameide_bench.eventstore import scratch_database
from ameide_bench.floor import floor_ops, workloads_file
from ameide_bench.query import (
    CONCURRENCY,
    QUICK,
    client_channels,
    grpc_ops,
    query_server,
    reply_size,
    seed,
    workload,
)
from ameide_bench.report import Row, print_table

KINDS = ("GetMessages", "ListChats")
CALLS = 400
WARMUP = 200
# Valgrind runs the server tens of times slower: start-up takes minutes, not seconds.
START_TIMEOUT = 600.0


def callgrind_prefix(out: Path) -> list[str]:
    """The command that runs a server under callgrind, counting nothing until switched on."""
    return [
        "valgrind",
        "--tool=callgrind",
        "--quiet",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        "--dump-line=no",
        "--compress-strings=no",
    ]


async def _control(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "callgrind_control", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    if await proc.wait() != 0:
        raise RuntimeError(f"callgrind_control {' '.join(args)} failed")


def _instructions(dump: Path) -> int:
    for line in dump.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no instruction total in {dump}")


async def _drive(ops: Sequence[Op], calls: int) -> None:
    """``calls`` requests spread over the ops (one caller each), all callers at once."""
    per = calls // len(ops)

    async def caller(op: Op) -> None:
        for _ in range(per):
            await op()

    await asyncio.gather(*(caller(op) for op in ops))


async def count(pid: int, out: Path, label: str, ops: Sequence[Op], *, calls: int, warmup: int) -> float:
    """Instructions ``pid`` executes per request over ``calls`` requests, after ``warmup`` uncounted ones.

    ``out``: the server's ``--callgrind-out-file``; the profile is dumped beside it, named for ``label``.
    """
    await _drive(ops, warmup)
    before = set(out.parent.glob(f"{out.name}*"))
    await _control("--instr=on", str(pid))
    await _control("--zero", str(pid))
    await _drive(ops, calls)
    await _control(f"--dump={label}", str(pid))
    await _control("--instr=off", str(pid))
    dumps = sorted(set(out.parent.glob(f"{out.name}*")) - before, key=lambda p: p.stat().st_mtime)
    return _instructions(dumps[-1]) / (calls // len(ops) * len(ops))


@dataclass(frozen=True, slots=True)
class Counted:
    """Instructions per request of one RPC: the real server's and the floor's."""

    kind: str
    ours: float
    floor: float


@contextlib.asynccontextmanager
async def floor_under(prefix: Sequence[str], libpq: str, workloads: Path) -> AsyncIterator[Child]:
    """The floor server, run with ``prefix`` in front (as ``ameide_bench.children.child_server`` runs it)."""
    proc = await asyncio.create_subprocess_exec(
        *prefix, sys.executable, "-m", "ameide_bench.floor", "--database", libpq, "--workloads", str(workloads),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None  # noqa: S101 - requested above
    assert proc.stdout is not None  # noqa: S101 - requested above
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)).decode()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the floor did not start: {line!r}")
        yield Child(f"127.0.0.1:{line.split()[1]}", proc.pid)
    finally:
        proc.stdin.close()
        await proc.wait()


async def run(
    database_url: str,
    redis_url: str,
    *,
    calls: int = CALLS,
    warmup: int = WARMUP,
    kinds: Sequence[str] = KINDS,
    keep: Path | None = None,
) -> list[Counted]:
    """Seed the quick model, then count each RPC's instructions per request on both servers.

    ``keep``: a folder to leave callgrind's profiles in (one per RPC and server, for ``callgrind_annotate``).
    """
    secret = secrets.token_urlsafe(32)
    rng = random.Random(11)
    counted: list[Counted] = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        out_ours, out_floor = folder / "ours.out", folder / "floor.out"
        async with scratch_database(database_url) as url:
            libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            seeded = await seed(libpq, QUICK)
            workloads = {kind: workload(kind, seeded, rng) for kind in kinds}
            path = workloads_file(Path(scratch), {k: [c.statements for c in calls] for k, calls in workloads.items()})
            async with (
                query_server(
                    url, redis_url, secret, prefix=callgrind_prefix(out_ours), start_timeout=START_TIMEOUT
                ) as server,
                floor_under(callgrind_prefix(out_floor), libpq, path) as floor,
                client_channels(server.target, CONCURRENCY) as channels,
                client_channels(floor.target, CONCURRENCY) as floor_channels,
            ):
                for kind, kind_calls in workloads.items():
                    size = await reply_size(channels[0], kind, kind_calls, secret)
                    ours_ops = grpc_ops(channels, kind, kind_calls, secret)
                    ours = await count(server.pid, out_ours, kind, ours_ops, calls=calls, warmup=warmup)
                    floor_count = await count(
                        floor.pid,
                        out_floor,
                        kind,
                        floor_ops(floor_channels, kind, len(kind_calls), size, CONCURRENCY),
                        calls=calls,
                        warmup=warmup,
                    )
                    counted.append(Counted(kind, ours, floor_count))
    return counted


def rows(counted: Sequence[Counted]) -> list[Row]:
    """The table: instructions per request, ours beside the floor's."""
    return [
        Row(
            f"instructions/request {c.kind} c={CONCURRENCY}",
            c.ours / 1000,
            "k instr",
            f"floor {c.kind}",
            c.floor / 1000,
            note=f"{c.ours / c.floor:.2f}x the floor (callgrind, every thread of the server)",
        )
        for c in counted
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ameide_bench.cost_query --database-url URL [--redis-url URL] [--calls N] [--kinds K,...]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True, help="any database on the server; a scratch one is used")
    parser.add_argument("--redis-url", default=os.environ.get("AMEIDE_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--calls", type=int, default=CALLS, help=f"counted requests per RPC (default {CALLS})")
    parser.add_argument("--warmup", type=int, default=WARMUP, help=f"uncounted requests first (default {WARMUP})")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated RPCs (GetMessages, ListChats)")
    parser.add_argument("--keep", type=Path, help="a folder to keep callgrind's profiles in (callgrind_annotate)")
    args = parser.parse_args(argv)
    counted = asyncio.run(
        run(
            args.database_url,
            args.redis_url,
            calls=args.calls,
            warmup=args.warmup,
            kinds=args.kinds.split(","),
            keep=args.keep,
        )
    )
    print_table(rows(counted), title="query reads: instructions per request (callgrind)")


if __name__ == "__main__":
    main()
