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
import dataclasses
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
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from ameide_bench.children import fixed_call_ops
from ameide_bench.command import SIZED_METHOD, Op, echo_server
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


@dataclass(frozen=True, slots=True)
class Server:
    """A running query deployable: its address and its processes (the supervisor and its workers)."""

    target: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the server and its worker processes so far."""
        return sum(_cpu_seconds(pid) for pid in (self.pid, *_children(self.pid)))


def _children(pid: int) -> list[int]:
    children: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(child) for child in (task / "children").read_text().split()]
    return children


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, in clock ticks


@contextlib.asynccontextmanager
async def query_server(database_url: str, redis_url: str, jwt_secret: str, workers: int = 1) -> AsyncIterator[Server]:
    """The real query deployable (``ameide serve query [--workers N]``) on a free port, until the block ends."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMEIDE_")}
    env.update({
        "AMEIDE_DATABASE_URL": database_url, "AMEIDE_REDIS_URL": redis_url, "AMEIDE_AUTH": "jwt",
        "AMEIDE_JWT_SECRET": jwt_secret, "AMEIDE_TOKEN_SECRET": secrets.token_urlsafe(32),
        "AMEIDE_BIND_HOST": "127.0.0.1", "AMEIDE_QUERY_PORT": str(port), "AMEIDE_QUERY_METRICS_PORT": "0",
        # INFO: each worker logs "listening on" once it serves (nothing is logged per request at INFO).
        "AMEIDE_LOG_LEVEL": "INFO", "AMEIDE_SHUTDOWN_GRACE_SECONDS": "2",
    })  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ameide_cli", "serve", "query", "--workers", str(workers),
        env=env, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    target = f"127.0.0.1:{port}"
    listening = asyncio.Event()
    logs = asyncio.create_task(_watch_log(proc, workers, listening))
    try:
        await _wait_serving(target, proc, listening)
        yield Server(target, proc.pid)
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


async def _wait_serving(target: str, proc: asyncio.subprocess.Process, listening: asyncio.Event) -> None:
    deadline = time.monotonic() + START_TIMEOUT
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


@dataclass
class Cells:
    """Latencies, busy time and (for the server) CPU time accumulated over alternating cells."""

    latencies: list[float]
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    def add(self, latencies: list[float], seconds: float, cpu_seconds: float = 0.0) -> None:
        """Merge one cell."""
        self.latencies += latencies
        self.seconds += seconds
        self.cpu_seconds += cpu_seconds

    def cpu_us_per_request(self) -> float:
        """Server CPU microseconds per request over the cells."""
        return self.cpu_seconds / max(1, len(self.latencies)) * 1e6

    def row(self, name: str, **extra: Any) -> Row:  # noqa: ANN401 - Row's optional fields
        """The accumulated figures as a table row."""
        ordered = sorted(self.latencies)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        return Row(name, len(ordered) / self.seconds, "rps", p50_ms=statistics.median(ordered) * 1000,
                   p95_ms=p95 * 1000, **extra)  # fmt: skip


async def cell(ops: Sequence[Op], seconds: float) -> tuple[list[float], float]:
    """Run each op in its own loop for ``seconds``; return the latencies and the elapsed time."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def loop(op: Op) -> None:
        while (started := time.perf_counter()) < deadline:
            await op()
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(loop(op) for op in ops))
    return latencies, time.perf_counter() - began


async def compare(
    ours: Sequence[Op],
    raw: Sequence[Op],
    seconds: float,
    rounds: int,
    *,
    warmup: int = WARMUP_CALLS,
    server_cpu: Callable[[], float] = lambda: 0.0,
    others: Mapping[str, Sequence[Op]] | None = None,
) -> tuple[Cells, Cells, dict[str, Cells]]:
    """Warm all up, then alternate short cells of each so all see the same machine (this one is shared).

    ``others``: more baselines (named op sets) measured in the same alternation.
    """
    others = others or {}
    for op in (*ours, *raw, *(op for ops in others.values() for op in ops)):
        for _ in range(warmup):
            await op()
    ours_cells, raw_cells = Cells([]), Cells([])
    other_cells = {name: Cells([]) for name in others}
    for _ in range(rounds):
        cpu_before = server_cpu()
        latencies, elapsed = await cell(ours, seconds / rounds)
        ours_cells.add(latencies, elapsed, server_cpu() - cpu_before)
        raw_cells.add(*await cell(raw, seconds / rounds))
        for name, ops in others.items():
            other_cells[name].add(*await cell(ops, seconds / rounds))
    return ours_cells, raw_cells, other_cells


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


async def run(
    database_url: str, redis_url: str = "redis://127.0.0.1:6379/0", *, quick: bool, workers: int = WORKERS
) -> list[Row]:
    """Seed, then measure each RPC over gRPC and its statements raw, in one run; return the table rows."""
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
            query_server(url, redis_url, secret, workers) as server,
            client_channels(server.target, CONCURRENCY) as channels,
            echo_server() as echo_target,
            client_channels(echo_target, CONCURRENCY) as echo_channels,
            floor_server(libpq, {k: [c.statements for c in calls] for k, calls in workloads.items()}) as floor_target,
            client_channels(floor_target, CONCURRENCY) as floor_channels,
        ):
            for kind, calls in workloads.items():
                size = await reply_size(channels[0], kind, calls, secret)
                ops, conns = await raw_ops(libpq, calls)
                try:
                    ours, raw, bounds = await compare(
                        grpc_ops(channels, kind, calls, secret),
                        ops,
                        seconds,
                        rounds,
                        warmup=warmup,
                        server_cpu=server.cpu_seconds,
                        others={
                            "echo": echo_ops(echo_channels, size),
                            "floor": floor_ops(floor_channels, kind, len(calls), size, CONCURRENCY),
                        },
                    )
                finally:
                    for conn in conns:
                        await conn.close()
                raw_row = raw.row(f"raw SQL {kind} c={CONCURRENCY}", note="same statements, psycopg")
                echo_row = bounds["echo"].row(f"gRPC echo, {kind}-sized reply c={CONCURRENCY}")
                echo_note = (
                    f"bare grpc.aio, {size:,}-byte replies: p95 {(echo_row.p95_ms or 0) / (raw_row.p95_ms or 1):.2f}x"
                    " raw SQL before any server work"
                )
                floor_row = bounds["floor"].row(f"floor: gRPC + the same SQL {kind} c={CONCURRENCY}")
                floor_note = (
                    f"bare grpc.aio running the statements on psycopg, {size:,}-byte replies, nothing else: p95 "
                    f"{(floor_row.p95_ms or 0) / (raw_row.p95_ms or 1):.2f}x raw SQL"
                )
                ours_row = ours.row(f"gRPC {kind} c={CONCURRENCY}", baseline_name=f"raw SQL {kind}")
                note = f"p95 {(ours_row.p95_ms or 0) / (raw_row.p95_ms or 1):.2f}x raw"
                note += f"; server CPU {ours.cpu_us_per_request():,.0f} us/req ({workers} worker(s))"
                if kind != "SearchChats":
                    note += "; target p95 < 10 ms and <= 1.3x raw"
                else:
                    note += "; raw runs the search statement only, gRPC also the snippets statement"
                rows += [
                    raw_row,
                    dataclasses.replace(echo_row, note=echo_note),
                    dataclasses.replace(floor_row, note=floor_note),
                    dataclasses.replace(ours_row, baseline_figure=raw_row.figure, note=note),
                ]
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
