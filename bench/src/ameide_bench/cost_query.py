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
import os
import random
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from ameide_bench import callgrind
from ameide_bench.children import Op
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


async def count(pid: int, out: Path, label: str, ops: Sequence[Op], *, calls: int, warmup: int) -> float:
    """Instructions ``pid`` executes per request over ``calls`` requests, after ``warmup`` uncounted ones.

    ``out``: the server's ``--callgrind-out-file``; the profile is dumped beside it, named for ``label``.
    """
    await callgrind.drive(ops, warmup)
    before = set(out.parent.glob(f"{out.name}*"))
    await callgrind.control("--instr=on", str(pid))
    await callgrind.control("--zero", str(pid))
    made = await callgrind.drive(ops, calls)
    await callgrind.control(f"--dump={label}", str(pid))
    await callgrind.control("--instr=off", str(pid))
    dumps = sorted(set(out.parent.glob(f"{out.name}*")) - before, key=lambda p: p.stat().st_mtime)
    return callgrind.instructions(dumps[-1]) / made


@dataclass(frozen=True, slots=True)
class Counted:
    """Instructions per request of one RPC: the real server's and the floor's."""

    kind: str
    ours: float
    floor: float


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
                    url, redis_url, secret, prefix=callgrind.prefix(out_ours), start_timeout=callgrind.START_TIMEOUT
                ) as server,
                callgrind.floor_under(callgrind.prefix(out_floor), libpq, path) as floor,
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
