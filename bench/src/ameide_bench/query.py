"""Query-path benchmark: GetMessages, ListChats and SearchChats over real gRPC beside the same SELECTs on psycopg.

A scratch database is seeded straight into the read-model tables with COPY (full: 1,000,000 messages over 10,000
chats in 10 tenants; quick: 10,000 over 100 in 2). The real query deployable (``python -m ameide_cli serve query``:
JWT auth, tracing, metrics and error interceptors, one process as the production chart runs it; ``--workers N``
runs N sharing the port) runs as a child process; this process drives it at concurrency 8 over 8 connections, as
8 callers would, and then runs the very statements the views run, with the same parameters, on 8 raw psycopg
connections, and a bare gRPC echo server replying with as many bytes as each RPC does (what no server beats).
Beside each gRPC figure it reports the server's CPU time per request (all its processes, from /proc). Run
``python -m ameide_bench.query --database-url URL [--redis-url URL] [--quick] [--workers N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import os
import random
import re
import secrets
import socket
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from ameide_bench.children import Child, fixed_call_ops
from ameide_bench.command import (
    SIZED_METHOD,
    Measurement,
    Op,
    Variant,
    cpu_note,
    cpu_rows,
    echo_server,
    interleave,
    side_by_side,
)
from ameide_bench.cpu import DatabaseCpu
from ameide_bench.eventstore import scratch_database
from ameide_bench.floor import floor_ops, floor_server
from ameide_bench.report import Row, print_table
from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc as svc_grpc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_query.views import chats as chat_views
from ameide_query.views import messages as message_views
from ameide_query.views import search as search_views
from ameide_query.views.fulltext import params as fulltext_params
from ameide_query.views.pages import TOP_ID, TOP_TIME
from ameide_readmodel.feed.names import chat_feed
from ameide_runtime.auth import mint_token

CONCURRENCY = 8
KINDS = ("GetMessages", "ListChats", "SearchChats")
# deploy/helm/ameide/ci/production-values.yaml runs the query deployable with one worker per pod (D42).
WORKERS = 1
# Two workers starting side by side on a loaded 2-core machine have taken over a minute.
START_TIMEOUT = 120.0
USERS_PER_TENANT = 20
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
VOCABULARY = [f"{a}{b}" for a in ("al", "be", "co", "da", "el", "fa", "go", "hi", "io", "ju") for b in range(200)]


@dataclass(frozen=True, slots=True)
class Shape:
    """How much to seed."""

    tenants: int
    chats: int
    messages: int


FULL = Shape(tenants=10, chats=10_000, messages=1_000_000)
QUICK = Shape(tenants=2, chats=100, messages=10_000)
WARMUP_CALLS = 5


@dataclass(frozen=True, slots=True)
class SeededChat:
    """A chat of the seeded model and one user who may read it."""

    chat_id: uuid.UUID
    tenant: str
    reader: str


# --- seeding ---------------------------------------------------------------------------------------------------


def _words(rng: random.Random) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(8, 16)))


async def seed(libpq: str, shape: Shape) -> list[SeededChat]:
    """COPY chats, messages and feed heads into the read model (search index built after the load)."""
    rng = random.Random(7)
    per_chat = shape.messages // shape.chats
    seeded: list[SeededChat] = []
    async with await psycopg.AsyncConnection.connect(libpq, autocommit=True) as conn:
        await conn.execute("DROP INDEX rm_messages_search_idx")
        async with conn.cursor().copy(
            "COPY rm_chats (id, tenant_id, owner, title, visibility, description, labels, tags, agent_id, "
            "message_count, created_at, updated_at, last_activity_at, deleted, version) FROM STDIN"
        ) as copy:
            for n in range(shape.chats):
                chat_id, tenant = uuid.uuid4(), f"tenant-{n % shape.tenants}"
                owner = f"user-{rng.randrange(USERS_PER_TENANT)}"
                visibility = (1, 2, 3)[n % 3]
                reader = owner if visibility == 1 else f"user-{rng.randrange(USERS_PER_TENANT)}"
                created = T0 + dt.timedelta(minutes=n)
                active = created + dt.timedelta(minutes=rng.randrange(100_000))
                await copy.write_row((
                    chat_id, tenant, owner, _words(rng)[:60], visibility, _words(rng), "{}", "{ops,bench}",
                    "general-assistant", per_chat, created, active, active, False, per_chat + 1,
                ))  # fmt: skip
                seeded.append(SeededChat(chat_id, tenant, reader))
        await _copy_messages(conn, seeded, per_chat, rng)
        async with conn.cursor().copy("COPY rm_feed_heads (feed_key, tenant_id, seq) FROM STDIN") as copy:
            for chat in seeded:
                await copy.write_row((chat_feed(str(chat.chat_id)), chat.tenant, per_chat))
        await conn.execute(
            "INSERT INTO rm_chat_search (chat_id, tenant_id, search) "
            "SELECT id, tenant_id, rm_chat_document(title, description, tags) FROM rm_chats"
        )
        await conn.execute("SET maintenance_work_mem = '256MB'")
        await conn.execute("CREATE INDEX rm_messages_search_idx ON rm_messages USING gin (tenant_id, search)")
        await conn.execute("VACUUM ANALYZE")
    return seeded


async def _copy_messages(
    conn: psycopg.AsyncConnection[Any], seeded: Sequence[SeededChat], per_chat: int, rng: random.Random
) -> None:
    columns = "chat_id, seq, id, tenant_id, user_id, role, payload, text, created_at"
    async with conn.cursor().copy(f"COPY rm_messages ({columns}) FROM STDIN") as copy:
        for chat in seeded:
            for seq in range(1, per_chat + 1):
                body = _words(rng)
                message = types.ChatMessage(
                    id=str(uuid.uuid4()), threads_id=str(chat.chat_id), role="user", tenant_id=chat.tenant,
                    user_id=chat.reader, sequence=seq, parts=[types.MessagePart(text=types.TextPart(text=body))],
                )  # fmt: skip
                at = T0 + dt.timedelta(seconds=seq)
                message.created_at.FromDatetime(at)
                await copy.write_row((
                    chat.chat_id, seq, uuid.UUID(message.id), chat.tenant, chat.reader, "user",
                    message.SerializeToString(), body, at,
                ))  # fmt: skip


# --- the query server (child process) ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def query_server(
    database_url: str,
    redis_url: str,
    jwt_secret: str,
    workers: int = 1,
    *,
    read_url: str = "",
    prefix: Sequence[str] = (),
    start_timeout: float = START_TIMEOUT,
) -> AsyncIterator[Child]:
    """The real query deployable (``ameide serve query [--workers N]``) on a free port, until the block ends.

    ``read_url``: where it reads (``AMEIDE_QUERY_DATABASE_URL``, e.g. a streaming replica); default the primary.
    ``prefix``: a command to run it under (e.g. valgrind), which may need a longer ``start_timeout``.
    """
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMEIDE_")}
    env.update({
        "AMEIDE_DATABASE_URL": database_url, "AMEIDE_REDIS_URL": redis_url, "AMEIDE_AUTH": "jwt",
        "AMEIDE_JWT_SECRET": jwt_secret, "AMEIDE_TOKEN_SECRET": secrets.token_urlsafe(32),
        "AMEIDE_BIND_HOST": "127.0.0.1", "AMEIDE_QUERY_PORT": str(port), "AMEIDE_QUERY_METRICS_PORT": "0",
        # INFO: each worker logs "listening on" once it serves (nothing is logged per request at INFO).
        "AMEIDE_LOG_LEVEL": "INFO", "AMEIDE_SHUTDOWN_GRACE_SECONDS": "2",
    })  # fmt: skip
    if read_url:
        env["AMEIDE_QUERY_DATABASE_URL"] = read_url
    proc = await asyncio.create_subprocess_exec(
        *prefix, sys.executable, "-m", "ameide_cli", "serve", "query", "--workers", str(workers),
        env=env, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    target = f"127.0.0.1:{port}"
    listening = asyncio.Event()
    logs = asyncio.create_task(_watch_log(proc, workers, listening))
    try:
        await _wait_serving(target, proc, listening, start_timeout)
        yield Child(target, proc.pid)
    finally:
        proc.terminate()
        await proc.wait()
        await logs


# The --workers supervisor's own lines when all is well.
_ROUTINE = re.compile(r"^\[query-\d+\] (started \(pid \d+\)|stopped \(code 0\))$")


async def _watch_log(proc: asyncio.subprocess.Process, workers: int, listening: asyncio.Event) -> None:
    """Set ``listening`` once every worker listens; pass on warnings and errors (INFO lines are start-up chatter)."""
    assert proc.stderr is not None  # noqa: S101 - piped above
    count = 0
    async for raw in proc.stderr:
        line = raw.decode(errors="replace")
        if "listening on" in line:
            count += 1
            if count >= workers:
                listening.set()
        elif "INFO" not in line and not _ROUTINE.search(line):
            sys.stderr.write(line)


async def _wait_serving(
    target: str, proc: asyncio.subprocess.Process, listening: asyncio.Event, start_timeout: float
) -> None:
    deadline = time.monotonic() + start_timeout
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise RuntimeError(f"the query server exited with {proc.returncode}")
            with contextlib.suppress(grpc.aio.AioRpcError):
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING and listening.is_set():
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the query server did not become SERVING")


@contextlib.asynccontextmanager
async def client_channels(target: str, count: int) -> AsyncIterator[list[grpc.aio.Channel]]:
    """``count`` channels with a connection each, which the kernel spreads over the workers as separate callers.

    Each channel has a local subchannel pool: gRPC would otherwise share one connection between them.
    """
    channels = [
        grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(count)
    ]
    try:
        yield channels
    finally:
        for channel in channels:
            await channel.close()


# --- the workloads -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One request, as a gRPC call and as the raw statement(s) the view runs for it."""

    grpc_request: Any
    user: str
    tenant: str
    statements: tuple[tuple[str, dict[str, Any]], ...]


def workload(kind: str, seeded: Sequence[SeededChat], rng: random.Random, count: int = 500) -> list[Call]:
    """Requests of one kind, each paired with the view's statements and parameters."""
    calls: list[Call] = []
    for chat in rng.sample(list(seeded), min(count, len(seeded))):
        who = {"tenant": chat.tenant, "user": chat.reader}
        if kind == "GetMessages":
            params = {"id": chat.chat_id, "feed": chat_feed(str(chat.chat_id)), **who, "after": 0, "limit": 51}
            request: Any = svc.GetMessagesRequest(threads_id=str(chat.chat_id))
            statements = ((message_views._OLDEST_FIRST_SQL, params),)  # noqa: SLF001 - the view's own statement
        elif kind == "ListChats":
            params = {**who, "k_at": TOP_TIME, "k_id": TOP_ID, "limit": 21, **chat_views.ChatFilterValues().params()}
            request = svc.ListChatsRequest()
            statements = ((chat_views._LIST_CHATS_SQL, params),)  # noqa: SLF001 - the view's own statement
        else:
            word = rng.choice(VOCABULARY)
            params = {**chat_views.ChatFilterValues().params(), **fulltext_params(word), "q2": "", "prefix2": False,
                      **who, "k_rank": float("inf"), "k_at": TOP_TIME, "k_id": TOP_ID, "limit": 21}  # fmt: skip
            request = svc.SearchChatsRequest(query=word)
            statements = ((search_views._SEARCH_SQL, params),)  # noqa: SLF001 - the view's own statement
        calls.append(Call(request, chat.reader, chat.tenant, statements))
    return calls


def grpc_ops(channels: Sequence[grpc.aio.Channel], kind: str, calls: Sequence[Call], secret: str) -> list[Op]:
    """Workers cycling through ``calls`` on the query service, worker ``i`` on channel ``i`` (modulo)."""
    methods = [getattr(svc_grpc.ChatQueryServiceStub(channel), kind) for channel in channels]
    metadata = {
        (c.user, c.tenant): (("authorization", f"Bearer {mint_token(secret, user_id=c.user, tenant_id=c.tenant)}"),)
        for c in calls
    }
    ops: list[Op] = []
    for offset in range(CONCURRENCY):
        cycle = itertools.cycle(calls[offset::CONCURRENCY])
        channel_method = methods[offset % len(methods)]

        async def op(cycle: Any = cycle, method: Any = channel_method) -> None:  # noqa: ANN401
            call = next(cycle)
            await method(call.grpc_request, metadata=metadata[call.user, call.tenant])

        ops.append(op)
    return ops


async def raw_ops(libpq: str, calls: Sequence[Call]) -> tuple[list[Op], list[psycopg.AsyncConnection[Any]]]:
    """Workers running the same statements on their own raw psycopg connection (autocommit, prepared)."""
    ops: list[Op] = []
    conns: list[psycopg.AsyncConnection[Any]] = []
    for offset in range(CONCURRENCY):
        conn = await psycopg.AsyncConnection.connect(libpq, autocommit=True)
        conns.append(conn)
        cycle = itertools.cycle(calls[offset::CONCURRENCY])

        async def op(conn: psycopg.AsyncConnection[Any] = conn, cycle: Any = cycle) -> None:  # noqa: ANN401
            for statement, params in next(cycle).statements:
                await (await conn.execute(statement, params)).fetchall()

        ops.append(op)
    return ops, conns


async def reply_size(channel: grpc.aio.Channel, kind: str, calls: Sequence[Call], secret: str) -> int:
    """The mean size in bytes of the replies to (up to 20 of) ``calls``, read off the wire undecoded."""
    method = f"/{svc.DESCRIPTOR.services_by_name['ChatQueryService'].full_name}/{kind}"
    raw_call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method)
    sizes = []
    for call in calls[:20]:
        token = mint_token(secret, user_id=call.user, tenant_id=call.tenant)
        reply = await raw_call(call.grpc_request.SerializeToString(), metadata=(("authorization", f"Bearer {token}"),))
        sizes.append(len(reply))
    return round(statistics.mean(sizes))


def echo_ops(channels: Sequence[grpc.aio.Channel], size: int) -> list[Op]:
    """Workers (one per channel) calling the bare echo server for ``size``-byte replies."""
    return fixed_call_ops(channels, SIZED_METHOD, str(size).encode())


def kind_rows(kind: str, m: dict[str, Measurement], size: int, workers: int) -> list[Row]:
    """One RPC's rows: raw SQL, the echo and the floor, then ours beside the floor, and CPU per request."""
    raw, echo, floor, ours = m["raw"], m["echo"], m["floor"], m["ours"]
    floor_name = f"floor: gRPC + the same SQL {kind} c={CONCURRENCY}"
    note = (
        f"p95 {ours.p95_ms / raw.p95_ms:.2f}x raw SQL, {ours.p95_ms / floor.p95_ms:.2f}x the floor; {workers} worker(s)"
    )
    if kind == "SearchChats":
        note += "; raw and floor run the search statement only, gRPC also the snippets statement"
    rows = [
        Row(f"raw SQL {kind} c={CONCURRENCY}", raw.rps, "rps", p50_ms=raw.p50_ms, p95_ms=raw.p95_ms,
            note="same statements, psycopg"),
        Row(f"gRPC echo, {kind}-sized reply c={CONCURRENCY}", echo.rps, "rps", p50_ms=echo.p50_ms,
            p95_ms=echo.p95_ms,
            note=f"bare grpc.aio, {size:,}-byte replies: p95 {echo.p95_ms / raw.p95_ms:.2f}x raw SQL before any work"),
        Row(floor_name, floor.rps, "rps", p50_ms=floor.p50_ms, p95_ms=floor.p95_ms,
            note=f"bare grpc.aio running the statements on psycopg, {size:,}-byte replies, nothing else: p95 "
            f"{floor.p95_ms / raw.p95_ms:.2f}x raw SQL; {cpu_note(floor)}"),
        Row(f"gRPC {kind} c={CONCURRENCY}", ours.rps, "rps", floor_name, floor.rps, ours.p50_ms, ours.p95_ms,
            f"{note}; {cpu_note(ours)}"),
    ]  # fmt: skip
    return rows + cpu_rows(f"{kind} c={CONCURRENCY}", ours, floor, kind)


async def run(
    database_url: str, redis_url: str = "redis://127.0.0.1:6379/0", *, quick: bool, workers: int = WORKERS
) -> list[Row]:
    """Seed, then measure each RPC over gRPC beside its statements raw and its floor, in one run; the table rows."""
    shape, seconds, rounds, warmup = (QUICK, 1.5, 3, 2) if quick else (FULL, 20.0, 8, WARMUP_CALLS)
    secret = secrets.token_urlsafe(32)
    rng = random.Random(11)
    rows: list[Row] = []
    async with scratch_database(database_url) as url:
        libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        started = time.perf_counter()
        seeded = await seed(libpq, shape)
        seed_seconds = time.perf_counter() - started
        workloads = {kind: workload(kind, seeded, rng) for kind in KINDS}
        async with (
            side_by_side(
                query_server(url, redis_url, secret, workers),
                echo_server(),
                floor_server(libpq, {k: [c.statements for c in calls] for k, calls in workloads.items()}),
            ) as (server, echo, floor),
            client_channels(server.target, CONCURRENCY) as channels,
            client_channels(echo.target, CONCURRENCY) as echo_channels,
            client_channels(floor.target, CONCURRENCY) as floor_channels,
            await psycopg.AsyncConnection.connect(libpq, autocommit=True) as meter,
        ):
            for kind, calls in workloads.items():
                size = await reply_size(channels[0], kind, calls, secret)
                ops, conns = await raw_ops(libpq, calls)
                try:
                    measured = await interleave(
                        [
                            Variant("ours", grpc_ops(channels, kind, calls, secret), server.cpu_seconds),
                            Variant("raw", ops),
                            Variant("echo", echo_ops(echo_channels, size), echo.cpu_seconds),
                            Variant(
                                "floor",
                                floor_ops(floor_channels, kind, len(calls), size, CONCURRENCY),
                                floor.cpu_seconds,
                            ),
                        ],
                        seconds,
                        rounds,
                        warmup,
                        DatabaseCpu(meter),
                    )
                finally:
                    for conn in conns:
                        await conn.close()
                rows += kind_rows(kind, measured, size, workers)
    rows.append(
        Row(f"seed {shape.messages:,} messages / {shape.chats:,} chats / {shape.tenants} tenants", seed_seconds, "s")
    )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ameide_bench.query --database-url URL [--redis-url URL] [--quick]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True, help="any database on the server; a scratch one is used")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--quick", action="store_true", help="a small model and short cells (a smoke run)")
    parser.add_argument(
        "--workers", type=int, default=WORKERS, help=f"query server processes (default {WORKERS}, as in production)"
    )
    args = parser.parse_args(argv)
    rows = asyncio.run(run(args.database_url, args.redis_url, quick=args.quick, workers=args.workers))
    print_table(rows, title=f"query path ({'quick' if args.quick else 'full'})")


if __name__ == "__main__":
    main()
