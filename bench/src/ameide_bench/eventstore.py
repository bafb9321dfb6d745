"""Event-store benchmark: our append vs raw SQL vs the ``eventsourcing`` library, and the outbox drain rate.

Everything runs in one scratch database on the given server (created, migrated, dropped), so every figure and
its baseline share the machine, the server settings and the moment. Variants are interleaved round by round and
rates are medians over rounds, so a burst of load from elsewhere hits every variant alike. Run
``python -m ameide_bench.eventstore --database-url postgresql://... [--quick]`` or ``ameide bench eventstore``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import itertools
import statistics
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from ameide_bench.report import Row, print_table
from ameide_eventstore import CountingMetrics, IdempotencyKey, IdempotentWrite, NewEvent, StreamAppend
from ameide_eventstore.postgres import PostgresEventStore, PostgresOutboxConsumer

CONCURRENCY = (1, 8, 32)
QUICK_CONCURRENCY = (8,)  # the smoke run: every figure once, at the level the targets and the drain baseline use
PAYLOAD = bytes(range(200))  # a chat message event is a few hundred bytes of protobuf
METADATA = {"user_id": "bench-user", "tenant_id": "bench", "occurred_at": "2025-01-01T00:00:00Z",
            "correlation_id": "c" * 32, "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}  # fmt: skip
SNAPSHOT = b"s" * 64
WARMUP_OPS = 6

Op = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Measurement:
    """Throughput (median over rounds) and latency (pooled over rounds) of one variant."""

    ops_per_s: float
    p50_ms: float
    p95_ms: float


@dataclass
class Cell:
    """The rounds of one variant."""

    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def add(self, latencies: Sequence[float], elapsed: float) -> None:
        """Record one round."""
        self.rates.append(len(latencies) / elapsed)
        self.latencies.extend(latencies)

    def result(self) -> Measurement:
        """Median rate and pooled latency percentiles."""
        ordered = sorted(self.latencies)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        return Measurement(statistics.median(self.rates), statistics.median(ordered) * 1000, p95 * 1000)


class Variant(Protocol):
    """Something that runs transactions back to back for a while."""

    async def round(self, seconds: float) -> tuple[list[float], float]:
        """Run for ``seconds``; return each transaction's latency and the elapsed time."""


MakeOps = Callable[[contextlib.AsyncExitStack], Awaitable[list[Op]]]


class AsyncVariant:
    """One asyncio task per op, each running its op back to back.

    Connections are opened before each round and closed after it (outside the timing), so variants never hold
    connections at the same time: the server's connection limit is shared with whatever else runs there.
    """

    def __init__(self, make_ops: MakeOps) -> None:
        self._make_ops = make_ops

    async def round(self, seconds: float) -> tuple[list[float], float]:
        """See ``Variant``."""
        async with contextlib.AsyncExitStack() as stack:
            ops = await self._make_ops(stack)
            for _ in range(WARMUP_OPS):  # concurrently, so every connection is open and every statement prepared
                await asyncio.gather(*(op() for op in ops))
            latencies: list[float] = []
            deadline = time.perf_counter() + seconds

            async def loop(op: Op) -> None:
                while (started := time.perf_counter()) < deadline:
                    await op()
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(loop(op) for op in ops))
            return latencies, time.perf_counter() - started


async def interleave(variants: dict[str, Variant], rounds: int, seconds: float) -> dict[str, Measurement]:
    """Alternate the variants round by round, rotating the order."""
    cells = {name: Cell() for name in variants}
    names = list(variants)
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            cells[name].add(*await variants[name].round(seconds))
    return {name: cell.result() for name, cell in cells.items()}


# --- (a) raw SQL baseline ------------------------------------------------------------------------------------

RAW_DDL = (
    "CREATE TABLE bench_raw_events (LIKE es_events INCLUDING ALL)",
    "CREATE TABLE bench_raw_outbox (LIKE es_outbox INCLUDING ALL)",
    "CREATE SCHEMA bench_es",
)
RAW_EVENT = (
    "INSERT INTO bench_raw_events (tenant_id, stream_id, stream_type, version, event_id, event_type, schema_version,"
    " payload, metadata) VALUES ('bench', %s, 'chat', %s, %s, 'bench.Event', 1, %s, %s) RETURNING global_position"
)
RAW_OUTBOX = "INSERT INTO bench_raw_outbox (shard, global_position, stream_id) VALUES (%s, %s, %s)"


@dataclass
class Writer:
    """One writer's own streams and their current version."""

    streams: list[uuid.UUID]
    version: int = 0


def _raw_op(conn: psycopg.AsyncConnection[Any], writer: Writer) -> Op:
    metadata = psycopg.types.json.Jsonb(METADATA)
    [sid] = writer.streams

    async def op() -> None:
        writer.version += 1
        async with conn.transaction():
            cursor = await conn.execute(RAW_EVENT, (sid, writer.version, uuid.uuid4(), PAYLOAD, metadata))
            row = await cursor.fetchone()
            assert row is not None  # noqa: S101 - RETURNING always yields the row
            await conn.execute(RAW_OUTBOX, (writer.version % 64, row[0], sid))

    return op


async def raw_ops(stack: contextlib.AsyncExitStack, conninfo: str, writers: Sequence[Writer]) -> list[Op]:
    """A raw append op per writer, each on its own connection (closed with ``stack``); needs ``RAW_DDL``'s tables."""
    conns = [await stack.enter_async_context(await psycopg.AsyncConnection.connect(conninfo)) for _ in writers]
    return [_raw_op(conn, writer) for conn, writer in zip(conns, writers, strict=True)]


def raw_variant(conninfo: str, count: int) -> AsyncVariant:
    """One connection per writer: BEGIN, INSERT event, INSERT outbox row, COMMIT (psycopg, no framework)."""
    writers = [Writer([uuid.uuid4()]) for _ in range(count)]

    async def make(stack: contextlib.AsyncExitStack) -> list[Op]:
        return await raw_ops(stack, conninfo, writers)

    return AsyncVariant(make)


# --- (b) the eventsourcing library ---------------------------------------------------------------------------


class EventsourcingVariant:
    """``eventsourcing``'s PostgresApplicationRecorder (its notification log is its outbox), a thread per writer.

    The library is synchronous, so its writers are threads, as an application using it runs them. Its pool is
    opened before each round and closed after it, like the other variants' connections.
    """

    def __init__(self, url: str, concurrency: int) -> None:
        self._url = make_url(url)
        self._originators = [uuid.uuid4() for _ in range(concurrency)]
        self._versions = [0] * concurrency

    def _writer(self, recorder: Any, index: int, deadline: float, latencies: list[float]) -> None:  # noqa: ANN401
        from eventsourcing.persistence import StoredEvent  # noqa: PLC0415 - bench only

        while (started := time.perf_counter()) < deadline:
            self._versions[index] += 1
            event = StoredEvent(self._originators[index], self._versions[index], "bench:Event", PAYLOAD)
            recorder.insert_events([event])
            latencies.append(time.perf_counter() - started)

    def _threads(self, recorder: Any, seconds: float) -> tuple[list[float], float]:  # noqa: ANN401
        per_thread: list[list[float]] = [[] for _ in self._originators]
        deadline = time.perf_counter() + seconds
        threads = [
            threading.Thread(target=self._writer, args=(recorder, i, deadline, latencies))
            for i, latencies in enumerate(per_thread)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [latency for latencies in per_thread for latency in latencies], time.perf_counter() - started

    def _round(self, seconds: float) -> tuple[list[float], float]:
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore  # noqa: PLC0415 - bench only

        url = self._url
        datastore = PostgresDatastore(
            url.database or "", url.host or "127.0.0.1", url.port or 5432, url.username or "", url.password or "",
            pool_size=len(self._originators), schema="bench_es",
        )  # fmt: skip
        try:
            recorder = PostgresApplicationRecorder(datastore, events_table_name="bench_es_events")
            recorder.create_table()
            self._threads(recorder, 0.1)  # warm up: every pooled connection open, statements prepared
            return self._threads(recorder, seconds)
        finally:
            datastore.close()

    async def round(self, seconds: float) -> tuple[list[float], float]:
        """See ``Variant``."""
        return await asyncio.to_thread(self._round, seconds)


# --- (c) our append ------------------------------------------------------------------------------------------


def _events(count: int = 1) -> list[NewEvent]:
    return [NewEvent(uuid.uuid4(), "bench.Event", PAYLOAD, 1, METADATA) for _ in range(count)]


def _our_op(store: PostgresEventStore, writer: Writer, *, idempotent: bool) -> Op:
    async def op() -> None:
        appends = [StreamAppend(sid, "chat", "bench", writer.version, _events(), SNAPSHOT) for sid in writer.streams]
        write = None
        if idempotent:
            write = IdempotentWrite(IdempotencyKey("bench", "bench-user", uuid.uuid4().hex), b"h" * 32, b"r" * 64)
        await store.append(appends, idempotency=write)
        writer.version += 1

    return op


def _first_message_op(store: PostgresEventStore, writer: Writer) -> Op:
    """A first message about an artifact's shape: a new stream of 3 events beside the writer's stream, keyed."""

    async def op() -> None:
        [own] = writer.streams
        appends = [
            StreamAppend(uuid.uuid4(), "chat", "bench", 0, _events(3), SNAPSHOT),
            StreamAppend(own, "artifact", "bench", writer.version, _events(), SNAPSHOT),
        ]
        write = IdempotentWrite(IdempotencyKey("bench", "bench-user", uuid.uuid4().hex), b"h" * 32, b"r" * 64)
        await store.append(appends, idempotency=write)
        writer.version += 1

    return op


def our_variant(
    url: str, count: int, *, streams: int = 1, idempotent: bool = False, first_message: bool = False
) -> AsyncVariant:
    """Appends of one event per stream (one or two streams per transaction); each writer has its own streams.

    ``first_message``: each append creates a new stream beside the writer's own one instead (see its op).
    """
    writers = [Writer([uuid.uuid4() for _ in range(1 if first_message else streams)]) for _ in range(count)]

    async def make(stack: contextlib.AsyncExitStack) -> list[Op]:
        engine = create_async_engine(url, pool_size=count, max_overflow=0)
        stack.push_async_callback(engine.dispose)
        store = PostgresEventStore(engine)
        if first_message:
            return [_first_message_op(store, writer) for writer in writers]
        return [_our_op(store, writer, idempotent=idempotent) for writer in writers]

    return AsyncVariant(make)


async def append_rows(
    url: str, libpq: str, rounds: int, seconds: float, concurrency: Sequence[int] = CONCURRENCY
) -> list[Row]:
    """(a), (b) and (c) at every concurrency, interleaved."""
    rows: list[Row] = []
    # The library is only in the `bench` dependency group: without it the other figures still come out.
    with_library = importlib.util.find_spec("eventsourcing") is not None
    for c in concurrency:
        variants: dict[str, Variant] = {
            "raw": raw_variant(libpq, c),
            "one": our_variant(url, c),
            "two": our_variant(url, c, streams=2),
            "idem": our_variant(url, c, idempotent=True),
            "first": our_variant(url, c, first_message=True),
        }
        if with_library:
            variants["lib"] = EventsourcingVariant(url, c)
        m = await interleave(variants, rounds, seconds)
        m.setdefault("lib", Measurement(float("nan"), float("nan"), float("nan")))
        raw, lib = f"raw SQL c={c}", f"eventsourcing c={c}"
        rows += [
            Row(raw, m["raw"].ops_per_s, "tx/s", None, None, m["raw"].p50_ms, m["raw"].p95_ms,
                "1 event + 1 outbox row"),
            Row(lib, m["lib"].ops_per_s, "tx/s", raw, m["raw"].ops_per_s, m["lib"].p50_ms, m["lib"].p95_ms,
                "application recorder" if with_library else "not installed: pip install 'eventsourcing[postgres]'"),
            Row(f"ours 1 stream c={c}", m["one"].ops_per_s, "tx/s", lib, m["lib"].ops_per_s, m["one"].p50_ms,
                m["one"].p95_ms, "target >= 1.5x"),
            Row(f"ours 1 stream c={c}", m["one"].ops_per_s, "tx/s", raw, m["raw"].ops_per_s, note="target >= 0.6x"),
            Row(f"ours 2 streams c={c}", m["two"].ops_per_s, "tx/s", raw, m["raw"].ops_per_s, m["two"].p50_ms,
                m["two"].p95_ms, "2 events, atomic"),
            Row(f"ours 1 stream + idempotency c={c}", m["idem"].ops_per_s, "tx/s", raw, m["raw"].ops_per_s,
                m["idem"].p50_ms, m["idem"].p95_ms, "key claimed in the same statement"),
            Row(f"ours new stream + existing + key c={c}", m["first"].ops_per_s, "tx/s", raw, m["raw"].ops_per_s,
                m["first"].p50_ms, m["first"].p95_ms, "a first message's shape (3 + 1 events): one statement"),
        ]  # fmt: skip
    return rows


async def long_stream_rows(store: PostgresEventStore, length: int, rounds: int, seconds: float) -> list[Row]:
    """A command (load state + append) on a stream with ``length`` events costs what it costs on a new one."""
    long_id, fresh_id = uuid.uuid4(), uuid.uuid4()
    for start in range(0, length, 1000):
        await store.append([StreamAppend(long_id, "chat", "bench", start, _events(1000), SNAPSHOT)])
    await store.append([StreamAppend(fresh_id, "chat", "bench", 0, _events(), SNAPSHOT)])

    def command(sid: uuid.UUID) -> Op:
        async def op() -> None:
            state = (await store.load_states([sid]))[sid]
            await store.append([StreamAppend(sid, "chat", "bench", state.version, _events(), SNAPSHOT)])

        return op

    # Alternate the two commands op by op (not round by round): a single writer is the most exposed to noise,
    # and this way both see the same moments. Rate = 1 / mean latency, as for any single writer.
    latencies: dict[uuid.UUID, list[float]] = {fresh_id: [], long_id: []}
    deadline = time.perf_counter() + rounds * seconds * 2
    for turn in itertools.count():
        if time.perf_counter() >= deadline:
            break
        for sid in (fresh_id, long_id) if turn % 2 else (long_id, fresh_id):
            started = time.perf_counter()
            await command(sid)()
            if turn >= WARMUP_OPS:
                latencies[sid].append(time.perf_counter() - started)
    m = {name: _single_writer(latencies[sid]) for name, sid in (("fresh", fresh_id), ("long", long_id))}
    fresh, long = m["fresh"], m["long"]
    return [
        Row("command on a 1-event stream c=1", fresh.ops_per_s, "cmd/s", p50_ms=fresh.p50_ms, p95_ms=fresh.p95_ms,
            note="load_states + append"),
        Row(f"command on a {length:,}-event stream c=1", long.ops_per_s, "cmd/s", "1-event stream",
            fresh.ops_per_s, long.p50_ms, long.p95_ms, "same cost: snapshot, no replay"),
    ]  # fmt: skip


def _single_writer(latencies: Sequence[float]) -> Measurement:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return Measurement(len(ordered) / sum(ordered), statistics.median(ordered) * 1000, p95 * 1000)


# --- (d) outbox drain ----------------------------------------------------------------------------------------


class _Drained(CountingMetrics):
    def __init__(self, target: int) -> None:
        super().__init__()
        self.target = target
        self.done = asyncio.Event()

    def batch_applied(self, size: int, seconds: float) -> None:
        super().batch_applied(size, seconds)
        if self.events >= self.target:
            self.done.set()


async def drain_rate(store: PostgresEventStore, url: str, events: int, workers: int) -> float:
    """Fill the outbox with ``events`` events, then time ``workers`` consumers (no-op projection) emptying it."""
    streams = [uuid.uuid4() for _ in range(200)]
    for i in range(events // 100):
        await store.append([StreamAppend(streams[i % len(streams)], "chat", "bench", -1, _events(100))])
    metrics = _Drained(events)
    engines = [create_async_engine(url, pool_size=2) for _ in range(workers)]
    consumers = [PostgresOutboxConsumer(e, metrics=metrics, rebalance_interval=0.2) for e in engines]

    async def noop(_conn: object, _events: object) -> None:
        return None

    started = time.perf_counter()
    tasks = [asyncio.create_task(c.run(noop, stop=metrics.done.is_set)) for c in consumers]
    await metrics.done.wait()
    elapsed = time.perf_counter() - started
    await asyncio.gather(*tasks)
    for engine in engines:
        await engine.dispose()
    return events / elapsed


# --- orchestration -------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[str]:
    """A fresh database on the server of ``server_url``, migrated to head, dropped afterwards."""
    from ameide_migrations import upgrade  # noqa: PLC0415 - only needed here

    base = make_url(server_url).set(drivername="postgresql+psycopg")
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"ameide_bench_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
            await conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


async def run(database_url: str, *, quick: bool) -> list[Row]:
    """Measure every cell in one scratch database on the server of ``database_url``; return the table rows."""
    rounds, seconds = (2, 0.3) if quick else (5, 1.5)
    async with scratch_database(database_url) as url:
        libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        async with await psycopg.AsyncConnection.connect(libpq, autocommit=True) as conn:
            for statement in RAW_DDL:
                await conn.execute(statement)
        engine = create_async_engine(url, pool_size=4, max_overflow=0)
        store = PostgresEventStore(engine)
        try:
            rows = await append_rows(url, libpq, rounds, seconds, QUICK_CONCURRENCY if quick else CONCURRENCY)
            rows += await long_stream_rows(store, 2_000 if quick else 100_000, rounds, seconds)
            raw_rate = next(r.figure for r in rows if r.name == "raw SQL c=8")
            for workers in (1, 3):
                rate = await drain_rate(store, url, 3_000 if quick else 100_000, workers)
                rows.append(Row(f"outbox drain, {workers} worker(s)", rate, "events/s", "raw insert c=8", raw_rate,
                                note="no-op projection; target >= 5,000"))  # fmt: skip
        finally:
            await engine.dispose()
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ameide_bench.eventstore --database-url URL [--quick]``."""
    parser = argparse.ArgumentParser(description="Event-store benchmark (scratch database on the given server)")
    parser.add_argument("--database-url", required=True, help="any database on the server; a scratch one is used")
    parser.add_argument("--quick", action="store_true", help="concurrency 8 only, short rounds (a smoke run)")
    args = parser.parse_args(argv)
    rows = asyncio.run(run(args.database_url, quick=args.quick))
    print_table(rows, title=f"event store ({'quick' if args.quick else 'full'})")


if __name__ == "__main__":
    main()
