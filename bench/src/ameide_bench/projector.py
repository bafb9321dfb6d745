"""Projector benchmark: events applied per second (read model + live-update feed + Redis publish) beside raw INSERTs.

A scratch database is filled through the real event store (chats with many messages, the common load), leaving
one outbox row per event. The projector's real handler then drains the outbox through the real outbox consumer,
batch by batch, each batch one transaction with its after-commit publish to Redis: events/s is what it
sustains. The baseline inserts the same message rows, in the same batch size, into a plain table shaped like
``rm_messages`` (same generated search column and indexes) with psycopg pipelined executemany: the raw INSERT rate.
Run ``python -m ameide_bench.projector --database-url URL [--redis-url URL] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from redis.asyncio import Redis
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ameide_bench.cpu import process_cpu_seconds, process_name
from ameide_bench.eventstore import scratch_database
from ameide_bench.report import Row, print_table
from ameide_core_proto.threads.v1 import threads_events_pb2 as events
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_eventstore import DEFAULT_SHARD_COUNT, ExpectedVersion, NewEvent, StreamAppend
from ameide_eventstore.postgres import PostgresEventStore
from ameide_eventstore.postgres.outbox import PostgresOutboxConsumer
from ameide_projector.config import ProjectorSettings
from ameide_projector.feed.publisher import FeedPublisher
from ameide_projector.feed.writer import append_feed_entries
from ameide_projector.publishing import QueuedPublisher
from ameide_projector.runner import ReadModelProjector

TENANT = "bench-tenant"
BATCH = 500  # the projector's default batch size (AMEIDE_PROJECTOR_BATCH_SIZE); 4x while a backlog drains
STREAMS_PER_APPEND = 100
TEXT = "Could you add an approval step before shipping? " * 4
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
ALL_SHARDS = frozenset(range(DEFAULT_SHARD_COUNT))
RAW_CHAT = uuid.UUID(int=1)
_CPU_NOTE = "claim, decode, plan, write, commit, Redis publish: the rate's cost, steadier than the rate itself"


def _event(payload: Any, at: dt.datetime) -> NewEvent:  # noqa: ANN401 - any event message
    metadata = {"user_id": "bench-user", "tenant_id": TENANT, "occurred_at": at.isoformat()}
    return NewEvent(uuid.uuid4(), payload.DESCRIPTOR.full_name, payload.SerializeToString(), metadata=metadata)


def _message(chat: uuid.UUID, seq: int, at: dt.datetime) -> events.MessageSentEvent:
    message = types.ChatMessage(
        id=str(uuid.uuid4()), threads_id=str(chat), role="user", tenant_id=TENANT, user_id="bench-user",
        sequence=seq, parts=[types.MessagePart(text=types.TextPart(text=TEXT))],
    )  # fmt: skip
    message.created_at.FromDatetime(at)
    return events.MessageSentEvent(message_id=message.id, threads_id=str(chat), message=message)


async def write_events(store: PostgresEventStore, chats: list[uuid.UUID], rounds: range) -> int:
    """For each round: chats created (round 0) or one message per chat, appended many streams per transaction."""
    written = 0
    for round_ in rounds:
        at = T0 + dt.timedelta(seconds=round_)
        for start in range(0, len(chats), STREAMS_PER_APPEND):
            appends = []
            for chat in chats[start : start + STREAMS_PER_APPEND]:
                payload: Any = (
                    events.ChatCreatedEvent(threads_id=str(chat), user_id="bench-user", tenant_id=TENANT, title="b")
                    if round_ == 0
                    else _message(chat, round_, at)
                )
                appends.append(StreamAppend(chat, "chat", TENANT, ExpectedVersion.ANY, [_event(payload, at)]))
            await store.append(appends)
            written += len(appends)
    return written


@dataclass(slots=True)
class Cost:
    """What draining the outbox took: wall seconds, this process's CPU seconds, the database backends' CPU seconds."""

    wall: float = 0.0
    cpu: float = 0.0
    backend_cpu: float | None = 0.0

    def add(self, other: Cost) -> None:
        """Accumulate another drain."""
        self.wall += other.wall
        self.cpu += other.cpu
        self.backend_cpu = (
            None if self.backend_cpu is None or other.backend_cpu is None else self.backend_cpu + other.backend_cpu
        )


def backend_cpu_seconds(pids: Sequence[int]) -> float | None:
    """CPU seconds (user + system) the server processes ``pids`` used so far; ``None`` when the server is remote.

    On a shared machine wall-clock rates move with the other load; CPU per event moves much less.
    """
    total = 0.0
    for pid in pids:
        spent = process_cpu_seconds(pid)
        if spent is None:
            return None
        total += spent
    return total


async def _backend_pids(conn: psycopg.AsyncConnection[Any]) -> list[int]:
    cursor = await conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    pids = [int(row[0]) for row in await cursor.fetchall()]
    await conn.commit()  # no snapshot held open while projecting (it would keep dead row versions around)
    return pids


async def project_all(
    engine: AsyncEngine,
    handler: ReadModelProjector,
    queue: QueuedPublisher | None = None,
    server: psycopg.AsyncConnection[Any] | None = None,
) -> Cost:
    """Drain the outbox through the real consumer and handler (and Redis publishing); return what it cost.

    With ``server`` (a connection to the same database) the CPU of the database's other backends (the engine's
    pooled connections: the bench opens nothing else there meanwhile) is counted too.
    """
    consumer = PostgresOutboxConsumer(engine, batch_size=BATCH)
    async with engine.connect():  # the pool's first connection exists before its backend is sampled
        pass
    pids = await _backend_pids(server) if server is not None else []
    backend_before = backend_cpu_seconds(pids) if server is not None else None
    started, cpu_started = time.perf_counter(), time.process_time()
    while await consumer.run_once(handler, ALL_SHARDS):
        pass
    if queue is not None:
        await queue.flush()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    backend = None
    if server is not None and backend_before is not None and await _backend_pids(server) == pids:
        after = backend_cpu_seconds(pids)
        backend = None if after is None else after - backend_before
    return Cost(wall, cpu, backend)


async def raw_inserts(conn: psycopg.AsyncConnection[Any], first_seq: int, rows: int) -> float:
    """Insert ``rows`` message rows into a table shaped like rm_messages, BATCH per transaction; return seconds."""
    columns = "chat_id, seq, id, tenant_id, user_id, role, payload, text, created_at"
    payload = _message(uuid.uuid4(), 1, T0).message.SerializeToString()
    started = time.perf_counter()
    for start in range(first_seq, first_seq + rows, BATCH):
        params = [
            (RAW_CHAT, seq, uuid.uuid4(), TENANT, "bench-user", "user", payload, TEXT, T0)
            for seq in range(start, min(first_seq + rows, start + BATCH))
        ]
        async with conn.cursor() as cursor:
            await cursor.executemany(
                f"INSERT INTO bench_raw_messages ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",  # noqa: S608 - constant
                params,
            )
        await conn.commit()
    return time.perf_counter() - started


async def _redis_pid(redis: Redis) -> int | None:
    """The redis-server's process id, when it runs on this machine (its CPU time is then readable)."""
    info: dict[str, Any] = await redis.info("server")
    pid = int(info.get("process_id", 0))
    return pid if process_name(pid).startswith("redis-server") else None


async def run(database_url: str, redis_url: str = "redis://127.0.0.1:6379/0", *, quick: bool) -> list[Row]:
    """Alternate rounds of projecting and of raw INSERTs (so both see the same machine); return the table rows."""
    chat_count, rounds, per_round = (20, 3, 20) if quick else (200, 5, 50)
    rows: list[Row] = []
    total = raw_seconds = 0.0
    ours = Cost()
    redis_cpu: float | None = 0.0
    async with scratch_database(database_url) as url:
        libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        engine = create_async_engine(url, pool_size=4, max_overflow=4)
        redis = Redis.from_url(redis_url)
        raw = await psycopg.AsyncConnection.connect(libpq)
        try:
            await raw.execute("CREATE TABLE bench_raw_messages (LIKE rm_messages INCLUDING ALL)")
            await raw.commit()
            store = PostgresEventStore(engine)
            publisher = FeedPublisher(ProjectorSettings(), engine, redis, key_prefix=f"bench:{uuid.uuid4().hex[:8]}:")
            queue = QueuedPublisher(publisher)  # as the projector's bootstrap wires it
            handler = ReadModelProjector(append_feed=append_feed_entries, publisher=queue)
            chats = [uuid.uuid4() for _ in range(chat_count)]
            next_round = 0
            redis_pid = await _redis_pid(redis)
            for _ in range(rounds):
                written = await write_events(store, chats, range(next_round, next_round + per_round))
                next_round += per_round
                before = process_cpu_seconds(redis_pid) if redis_pid else None
                ours.add(await project_all(engine, handler, queue, raw))
                after = process_cpu_seconds(redis_pid) if redis_pid else None
                redis_cpu = None if before is None or after is None or redis_cpu is None else redis_cpu + after - before
                raw_seconds += await raw_inserts(raw, int(total) + 1, written)
                total += written
            await queue.stop()
        finally:
            await raw.close()
            await redis.aclose()
            await engine.dispose()
    rate, raw_rate = total / ours.wall, total / raw_seconds
    rows.append(Row("raw INSERT message rows", raw_rate, "rows/s", note=f"batches of {BATCH}, rm_messages shape"))
    rows.append(
        Row(
            f"projector ({int(total):,} events, batch {BATCH}-{4 * BATCH})",
            rate,
            "events/s",
            "raw INSERT message rows",
            raw_rate,
            note=f"read model + feed + Redis; {rounds} alternating rounds; target >= 5,000 events/s",
        )
    )
    rows.append(Row("projector CPU per event (this process)", 1e6 * ours.cpu / total, "us", note=_CPU_NOTE))
    if redis_cpu is not None:
        note = "redis-server (/proc, shared with whatever else uses it): the feed's XADDs and the wake-ups"
        rows.append(Row("projector CPU per event (Redis)", 1e6 * redis_cpu / total, "us", note=note))
    if ours.backend_cpu is not None:
        note = "the projector's Postgres backends (/proc)"
        rows.append(Row("projector CPU per event (Postgres)", 1e6 * ours.backend_cpu / total, "us", note=note))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ameide_bench.projector --database-url URL [--redis-url URL] [--quick]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True, help="any database on the server; a scratch one is used")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--quick", action="store_true", help="fewer events (a smoke run)")
    args = parser.parse_args(argv)
    rows = asyncio.run(run(args.database_url, args.redis_url, quick=args.quick))
    print_table(rows, title=f"projector ({'quick' if args.quick else 'full'})")


if __name__ == "__main__":
    main()
