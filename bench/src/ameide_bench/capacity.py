"""The capacity model checked here: the command deployable at 1, 2 and 3 processes beside what the model predicts.

``docs/capacity.md`` derives pods and cores from CPU time per request. This scenario measures those inputs on one
process (keyed SendMessage, what the SDKs send, by ``CALLERS`` callers on connections of their own), predicts the
throughput of 2 and 3 processes from them, then measures 2 and 3 (``ameide serve command --workers k``: the kernel
gives each connection to one worker). The model: a process serves at most one core, so k processes serve at most
k x 1e6 / (server CPU us per request) requests per second; the machine serves at most cores x 1e6 / (client +
server + PostgreSQL CPU us per request), since here they share its cores; the prediction is the lower of the two.
The measured / predicted ratio is the model's error on this machine (whatever else runs on it takes its share).
Run ``python -m ameide_bench.capacity --database-url URL [--redis-url URL] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
from collections.abc import Sequence

import psycopg
from sqlalchemy.engine import make_url

from ameide_bench.ceiling import cores
from ameide_bench.command import (
    WARMUP_CALLS,
    Measurement,
    Variant,
    client_channels,
    command_server,
    interleave,
    send_ops,
)
from ameide_bench.cpu import DatabaseCpu
from ameide_bench.eventstore import scratch_database
from ameide_bench.report import Row, print_table
from ameide_runtime.auth import mint_token

CALLERS = 32
PROCESSES = (1, 2, 3)


def predicted_rps(one: Measurement, processes: int, machine_cores: int) -> float:
    """The model's throughput for ``processes`` processes from one process's CPU time per request."""
    per_process = 1e6 / one.server_us if one.server_us else float("inf")
    per_request = (one.server_us or 0.0) + (one.postgres_us or 0.0) + one.client_us
    machine = machine_cores * 1e6 / per_request if per_request else float("inf")
    return min(processes * per_process, machine)


async def measure(
    url: str, redis_url: str, processes: int, *, seconds: float, rounds: int, warmup: int
) -> tuple[Measurement, float]:
    """Keyed SendMessage by ``CALLERS`` callers against ``processes`` command processes; and WAL bytes per request.

    The WAL figure is the server's whole WAL over the cell: on a server others write to, theirs is in it too.
    """
    secret = secrets.token_urlsafe(32)
    metadata = (("authorization", f"Bearer {mint_token(secret, user_id='bench-user', tenant_id='bench')}"),)
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    async with (
        command_server(url, redis_url, secret, processes) as server,
        client_channels(server.target, CALLERS, own_connections=True) as channels,
        await psycopg.AsyncConnection.connect(libpq, autocommit=True) as meter,
    ):
        ops = await send_ops(channels, metadata, keyed=True)
        variant = Variant("send", ops, server.cpu_seconds)
        before = await (await meter.execute("SELECT pg_current_wal_lsn()")).fetchone()
        measured = (await interleave([variant], seconds, rounds, warmup, DatabaseCpu(meter)))["send"]
        wal = await (await meter.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", before)).fetchone()
        return measured, float(wal[0] if wal else 0) / max(1, measured.cpu.operations)


def rows_for(measured: dict[int, Measurement], machine_cores: int, wal_bytes: float) -> list[Row]:
    """Each process count's figures beside the model's prediction from the single process."""
    one = measured[PROCESSES[0]]
    rows = [
        Row(
            f"model inputs, 1 process: WAL bytes per keyed SendMessage c={CALLERS}",
            wal_bytes,
            "bytes",
            note="pg_current_wal_lsn() over the cell, whole server (the projector is not running: writes only)",
        ),
        Row(
            f"model inputs, 1 process: CPU us per keyed SendMessage c={CALLERS}",
            one.server_us or 0.0,
            "us",
            note=f"server {one.server_us or 0:,.0f}, PostgreSQL {one.postgres_us or 0:,.0f}, client "
            f"{one.client_us:,.0f} us per request (the machine, with everything else on it: "
            f"{one.cpu.cpu_us_per_op:,.0f}); {machine_cores} cores",
        ),
    ]
    for processes, cell in measured.items():
        prediction = predicted_rps(one, processes, machine_cores)
        rows.append(
            Row(
                f"SendMessage+key c={CALLERS}, {processes} command process(es)",
                cell.rps,
                "rps",
                f"capacity model, {processes} process(es)",
                prediction,
                cell.p50_ms,
                cell.p95_ms,
                f"server CPU {cell.server_us or 0:,.0f} us/request over all processes; machine "
                f"{cell.cpu.cpu_us_per_op:,.0f} us/request",
            )
        )
    return rows


async def run(database_url: str, redis_url: str = "redis://127.0.0.1:6379/0", *, quick: bool) -> list[Row]:
    """Measure 1, 2 and 3 command processes in one scratch database; return the rows."""
    seconds, rounds, warmup = (2.0, 1, 2) if quick else (8.0, 2, WARMUP_CALLS)
    measured: dict[int, Measurement] = {}
    wal = {}
    async with scratch_database(database_url) as url:
        for processes in PROCESSES:
            measured[processes], wal[processes] = await measure(
                url, redis_url, processes, seconds=seconds, rounds=rounds, warmup=warmup
            )
    return rows_for(measured, cores(), wal[PROCESSES[0]])


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ameide_bench.capacity --database-url URL [--redis-url URL] [--quick]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True, help="any database on the server; a scratch one is used")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--quick", action="store_true", help="short cells (a smoke run)")
    args = parser.parse_args(argv)
    rows = asyncio.run(run(args.database_url, args.redis_url, quick=args.quick))
    print_table(rows, title=f"capacity model check ({'quick' if args.quick else 'full'})")


if __name__ == "__main__":
    main()
