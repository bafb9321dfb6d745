"""Instructions per request of the command deployable beside its floor, counted by callgrind: immune to machine noise.

Rates and CPU times move with whatever else runs on a shared machine; the instructions a server executes per
request barely do. This runs the real command deployable and the floor server (``ameide_bench.floor``: a bare
grpc.aio server doing one raw append transaction per call) under ``valgrind --tool=callgrind`` with
instrumentation off while they start, switches it on, drives each variant at concurrency ``c`` from this process
(warm-up calls first, then ``--calls`` counted ones) and reads the instructions each server executed in between.
User-space instructions only (``ameide_bench.callgrind``). Needs valgrind (callgrind_control).

Run ``python -m ameide_bench.instructions --database-url URL --redis-url URL [--calls N] [--concurrency C]
[--variants floor,send,keyed,ensure]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import pickle
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from ameide_bench import callgrind
from ameide_bench.command import client_channels, command_server, ensure_ops, send_ops, send_reply_size
from ameide_bench.eventstore import RAW_DDL, scratch_database
from ameide_bench.floor import append_ops
from ameide_runtime.auth import mint_token

VARIANTS = ("floor", "send", "keyed", "ensure")
ARTIFACTS_PER_WORKER = 4


async def _dumped_instructions(folder: Path, pid: int) -> int:
    """Dump ``pid``'s counts since its last dump (or zeroing) and return them; the dump files are then removed."""
    _remove_dumps(folder, pid)
    await callgrind.control("--dump", str(pid))
    return _remove_dumps(folder, pid)


def _remove_dumps(folder: Path, pid: int) -> int:
    """Remove ``pid``'s dump files; the largest instruction total among them (0 without any)."""
    total = 0
    for dump in folder.glob(f"callgrind.{pid}*"):
        total = max(total, callgrind.instructions(dump, missing=0))
        dump.unlink()
    return total


async def measure(
    database_url: str, redis_url: str, *, calls: int, concurrency: int, variants: Sequence[str]
) -> dict[str, float]:
    """Instructions per request of each variant (``floor`` is the floor server's)."""
    jwt_secret = secrets.token_urlsafe(32)
    metadata = (("authorization", f"Bearer {mint_token(jwt_secret, user_id='bench-user', tenant_id='bench')}"),)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ameide-callgrind-") as scratch:
        folder = Path(scratch)
        launcher = callgrind.prefix(folder / "callgrind.%p")
        raw_appends = folder / "workloads.pickle"  # no read workloads: the floor serves raw appends
        raw_appends.write_bytes(pickle.dumps({}))
        async with scratch_database(database_url) as url:
            libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            async with await psycopg.AsyncConnection.connect(libpq, autocommit=True) as conn:
                for statement in RAW_DDL:
                    await conn.execute(statement)
            async with contextlib.AsyncExitStack() as stack:
                command = await stack.enter_async_context(command_server(url, redis_url, jwt_secret, launcher=launcher))
                floor = await stack.enter_async_context(callgrind.floor_under(launcher, libpq, raw_appends))
                channels = await stack.enter_async_context(
                    client_channels(command.target, concurrency, own_connections=False)
                )
                floor_channels = await stack.enter_async_context(
                    client_channels(floor.target, concurrency, own_connections=False)
                )
                size = await send_reply_size(channels[0], metadata)
                for child in (command, floor):
                    await callgrind.control("--instr=on", str(child.pid))
                for variant in variants:
                    if variant == "floor":
                        ops, pid = append_ops(floor_channels, size), floor.pid
                    elif variant == "ensure":
                        ops, pid = await ensure_ops(channels, metadata, ARTIFACTS_PER_WORKER), command.pid
                    else:
                        ops, pid = await send_ops(channels, metadata, keyed=variant == "keyed"), command.pid
                    await callgrind.drive(ops, calls)  # warm: code paths, connections, prepared statements
                    await _dumped_instructions(folder, pid)
                    made = await callgrind.drive(ops, calls)
                    results[variant] = await _dumped_instructions(folder, pid) / made
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
