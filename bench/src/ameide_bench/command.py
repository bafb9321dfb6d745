"""Command-path benchmark: SendMessage and EnsureChatForArtifactAndSendMessage over real gRPC, beside their floor.

Servers run as child processes on this machine: the real command deployable (``python -m ameide_cli serve
command``: JWT auth, tracing, metrics and error interceptors, PostgreSQL event store in a scratch database), a
second one with group commit flipped (the same-run A/B of ``AMEIDE_GROUP_COMMIT``), the floor (a bare grpc.aio
server doing one raw append transaction per call and nothing else) and a bare echo. This process drives them with
the same client at concurrency 1, 8 and 32, alternating short cells of every variant so a burst of load from
elsewhere hits all alike, and reports rps, p50 and p95 beside the floor's, and CPU time per request: the server's
(its processes, from /proc), PostgreSQL's (every postgres process on this machine) and the machine's.

Variants: SendMessage without a key (a live conversation), with a new key per call (what both SDKs send), the
first message about an artifact (``Ensure``, a new chat each call) over many artifacts, and over ONE hot artifact
(every call a new chat about the same artifact, at c=8).

``--workers N`` runs the command deployable as production scales it on one host (``ameide serve command
--workers N``: N processes sharing the port through SO_REUSEPORT). The kernel spreads connections, not calls,
over the workers, so ``--channel-per-worker`` gives every client worker its own channel (its own connection);
the baselines are then driven the same way.
Run ``python -m ameide_bench.command --database-url URL --redis-url URL [--quick] [--workers N]
[--channel-per-worker]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import secrets
import socket
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field

import grpc
import grpc.aio
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from ameide_bench.ceiling import Metered, busy_seconds, ceiling_rps, cores
from ameide_bench.children import Child, child_server, fixed_call_ops, serve_until_stdin_closes
from ameide_bench.cpu import DatabaseCpu, spent
from ameide_bench.eventstore import RAW_DDL, Writer, raw_ops, scratch_database
from ameide_bench.floor import append_ops, floor_server
from ameide_bench.report import Row, print_table
from ameide_command.config import CommandSettings
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2, artifacts_service_pb2_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc, threads_types_pb2
from ameide_runtime.auth import mint_token

CONCURRENCY = (1, 8, 32)  # c=1: the added latency of group commit; c=8: the floor targets; c=32: group commit's
QUICK_CONCURRENCY = CONCURRENCY
ECHO_METHOD = "/bench.Echo/Unary"
SIZED_METHOD = "/bench.Echo/Sized"
MAX_SIZED_REPLY = 4 * 1024 * 1024
START_TIMEOUT = 60.0
# A separate connection per channel: channels with equal arguments otherwise share one subchannel (connection).
OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)
ARTIFACTS_PER_WORKER = 32
QUICK_ARTIFACTS_PER_WORKER = 4
HOT_ARTIFACT_LEVEL = 8
WARMUP_CALLS = 5
TEXT = "Could you add an approval step before shipping? " * 4  # a typical short chat message

Op = Callable[[], Awaitable[None]]
Meter = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Variant:
    """Callers of one kind (one op per caller) and the CPU meter of the server answering them (if any)."""

    name: str
    ops: Sequence[Op]
    server_cpu: Meter | None = None


@dataclass(slots=True)
class _Cell:
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    busy: float = 0.0
    server: float = 0.0
    client: float = 0.0
    postgres: float | None = 0.0

    def add(
        self, latencies: list[float], seconds: float, cpu: tuple[float, float, float], postgres: float | None
    ) -> None:
        self.latencies += latencies
        self.seconds += seconds
        busy, server, client = cpu
        self.busy += busy
        self.server += server
        self.client += client
        self.postgres = None if self.postgres is None or postgres is None else self.postgres + postgres


@dataclass(frozen=True, slots=True)
class Measurement:
    """Throughput, latency and CPU time per operation of one variant over its rounds.

    ``cpu`` is the machine's busy time (every process); ``server_us`` the answering server's own CPU time per
    operation; ``postgres_us`` its database's PostgreSQL backends' (None where the database runs elsewhere);
    ``client_us`` this benchmark process's (the callers).
    """

    rps: float
    p50_ms: float
    p95_ms: float
    cpu: Metered
    server_us: float | None = None
    postgres_us: float | None = None
    client_us: float = 0.0

    @staticmethod
    def of(cell: _Cell, *, metered_server: bool) -> Measurement:
        """The figures of a variant's accumulated rounds."""
        ordered = sorted(cell.latencies) or [float("nan")]
        count = max(1, len(cell.latencies))
        return Measurement(
            rps=len(cell.latencies) / cell.seconds if cell.seconds else float("nan"),
            p50_ms=statistics.median(ordered) * 1000,
            p95_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000,
            cpu=Metered(len(cell.latencies), cell.busy),
            server_us=cell.server / count * 1e6 if metered_server else None,
            postgres_us=None if cell.postgres is None else cell.postgres / count * 1e6,
            client_us=cell.client / count * 1e6,
        )


async def _run_cell(ops: Sequence[Op], seconds: float) -> tuple[list[float], float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def loop(op: Op) -> None:
        while (started := time.perf_counter()) < deadline:
            await op()
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(loop(op) for op in ops))
    return latencies, time.perf_counter() - began


async def interleave(
    variants: Sequence[Variant],
    seconds: float,
    rounds: int,
    warmup: int = WARMUP_CALLS,
    database: DatabaseCpu | None = None,
) -> dict[str, Measurement]:
    """Warm every variant up, then alternate short cells of each (order rotating per round): ``seconds`` in all each.

    Every variant sees the same moments of a machine shared with other load; each figure is then compared with
    its baseline measured in the same rounds. ``database``: the backends whose CPU time each cell also meters.
    """
    for variant in variants:
        for op in variant.ops:  # channel, server code paths and connection pools
            for _ in range(warmup):
                await op()
    cells = {variant.name: _Cell() for variant in variants}
    for index in range(rounds):
        shift = index % len(variants)
        for variant in [*variants[shift:], *variants[:shift]]:
            server = variant.server_cpu or (lambda: 0.0)
            postgres = await database.sample() if database is not None else None
            busy, cpu, client = busy_seconds(), server(), time.process_time()
            latencies, elapsed = await _run_cell(variant.ops, seconds / rounds)
            used = (busy_seconds() - busy, server() - cpu, time.process_time() - client)
            after = await database.sample() if database is not None else None
            cells[variant.name].add(latencies, elapsed, used, spent(postgres, after))
    return {
        variant.name: Measurement.of(cells[variant.name], metered_server=variant.server_cpu is not None)
        for variant in variants
    }


# --- the echo server (child process) ------------------------------------------------------------------------


async def serve_echo() -> None:
    """A bare grpc.aio server echoing raw bytes; print ``PORT <n>``; stop when stdin closes.

    ``Unary`` answers the request's bytes; ``Sized`` answers as many bytes as the request's decimal number says
    (a read's small request and large reply).
    """
    replies: dict[bytes, bytes] = {}

    async def echo(request: bytes, _context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return request

    async def sized(request: bytes, _context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        reply = replies.get(request)
        if reply is None:
            reply = replies[request] = bytes(min(int(request), MAX_SIZED_REPLY))
        return reply

    handler = grpc.method_handlers_generic_handler(
        "bench.Echo",
        {"Unary": grpc.unary_unary_rpc_method_handler(echo), "Sized": grpc.unary_unary_rpc_method_handler(sized)},
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    await serve_until_stdin_closes(server)


# --- child processes --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def echo_server() -> AsyncIterator[Child]:
    """The echo server."""
    async with child_server("ameide_bench.command", "--echo-server") as child:
        yield child


@contextlib.asynccontextmanager
async def command_server(
    database_url: str,
    redis_url: str,
    jwt_secret: str,
    workers: int = 1,
    *,
    group_commit: bool | None = None,
    launcher: Sequence[str] = (),
) -> AsyncIterator[Child]:
    """The real command deployable (``ameide serve command [--workers N]``) on a free port, until the block ends.

    ``group_commit``: set ``AMEIDE_GROUP_COMMIT`` (default: the product's default). ``launcher``: a command the
    server runs under (``valgrind ...``; ``Child.pid`` is then the launcher's).
    """
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMEIDE_")}
    env.update({
        "AMEIDE_DATABASE_URL": database_url, "AMEIDE_REDIS_URL": redis_url, "AMEIDE_AUTH": "jwt",
        "AMEIDE_JWT_SECRET": jwt_secret, "AMEIDE_TOKEN_SECRET": secrets.token_urlsafe(32),
        "AMEIDE_BIND_HOST": "127.0.0.1", "AMEIDE_COMMAND_PORT": str(port), "AMEIDE_COMMAND_METRICS_PORT": "0",
        # Several workers: each says when it listens (INFO; nothing is logged per request), see _wait_listening.
        "AMEIDE_LOG_LEVEL": "WARNING" if workers == 1 else "INFO", "AMEIDE_LOG_FORMAT": "text",
        "AMEIDE_SHUTDOWN_GRACE_SECONDS": "2",
    })  # fmt: skip
    if group_commit is not None:
        env["AMEIDE_GROUP_COMMIT"] = "true" if group_commit else "false"
    argv = ["-m", "ameide_cli", "serve", "command", *(["--workers", str(workers)] if workers > 1 else [])]
    command = [*launcher, sys.executable, *argv]
    proc = await asyncio.create_subprocess_exec(
        command[0], *command[1:], env=env, stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE if workers > 1 else None,
    )  # fmt: skip
    target = f"127.0.0.1:{port}"
    relay: asyncio.Task[None] | None = None
    try:
        if proc.stderr is not None:
            await asyncio.wait_for(_wait_listening(proc.stderr, workers), START_TIMEOUT)
            relay = asyncio.create_task(_relay(proc.stderr))
        await _wait_serving(target, proc)
        yield Child(target, proc.pid)
    finally:
        if proc.returncode is None:  # not if it exited while starting: that is the error being raised
            proc.terminate()
        await proc.wait()
        if relay is not None:
            await relay


async def _wait_listening(stderr: asyncio.StreamReader, workers: int) -> None:
    """Until every worker has bound the port: a client connecting earlier would only ever reach the first ones."""
    listening = 0
    while listening < workers:
        line = (await stderr.readline()).decode("utf-8", "replace")
        if not line:
            raise RuntimeError("the command server exited while starting")
        sys.stderr.write(line)
        listening += "listening on" in line


async def _relay(stderr: asyncio.StreamReader) -> None:
    while line := await stderr.readline():
        sys.stderr.write(line.decode("utf-8", "replace"))


@contextlib.asynccontextmanager
async def side_by_side(
    *servers: contextlib.AbstractAsyncContextManager[Child],
) -> AsyncIterator[list[Child]]:
    """Servers started side by side (a Python server takes seconds to start), all stopped when the block ends."""
    async with contextlib.AsyncExitStack() as stack:
        started = await asyncio.gather(
            *(stack.enter_async_context(server) for server in servers),
            return_exceptions=True,  # let all finish starting, so the stack stops whichever did start
        )
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome
        yield [child for child in started if isinstance(child, Child)]


async def _wait_serving(target: str, proc: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise RuntimeError(f"the command server exited with {proc.returncode}")
            with contextlib.suppress(grpc.aio.AioRpcError):
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the command server did not become SERVING")


# --- the scenarios -------------------------------------------------------------------------------------------


def _message() -> threads_types_pb2.ChatMessageInput:
    part = threads_types_pb2.MessagePart(text=threads_types_pb2.TextPart(text=TEXT))
    return threads_types_pb2.ChatMessageInput(role="user", parts=[part])


def echo_ops(channels: Sequence[grpc.aio.Channel]) -> list[Op]:
    """Workers (one per channel) calling the echo with a payload the size of a SendMessage request."""
    payload = threads_service_pb2.SendMessageRequest(threads_id=str(uuid.uuid4()), message=_message())
    return fixed_call_ops(channels, ECHO_METHOD, payload.SerializeToString())


async def send_ops(
    channels: Sequence[grpc.aio.Channel], metadata: Sequence[tuple[str, str]], *, keyed: bool = False
) -> list[Op]:
    """Workers (one per channel) each sending into their own chat; ``keyed``: a new idempotency key every call."""
    ops: list[Op] = []
    for index, channel in enumerate(channels):
        chats = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
        created = await chats.CreateChat(
            threads_service_pb2.CreateChatRequest(title=f"bench {index}"), metadata=metadata
        )
        request = threads_service_pb2.SendMessageRequest(threads_id=created.threads.id, message=_message())

        async def op(
            request: threads_service_pb2.SendMessageRequest = request,
            chats: threads_service_pb2_grpc.ChatCommandServiceAsyncStub = chats,
        ) -> None:
            if keyed:
                request.idempotency_key = uuid.uuid4().hex
            await chats.SendMessage(request, metadata=metadata)

        ops.append(op)
    return ops


async def _artifacts(
    channel: grpc.aio.Channel, metadata: Sequence[tuple[str, str]], count: int, label: str
) -> list[str]:
    stub = artifacts_service_pb2_grpc.ArtifactCommandServiceStub(channel)
    return [
        (
            await stub.CreateArtifact(
                artifacts_service_pb2.CreateArtifactRequest(title=f"Process {label}.{index}", kind="bpmn"),
                metadata=metadata,
            )
        ).artifact_id
        for index in range(count)
    ]


async def ensure_ops(
    channels: Sequence[grpc.aio.Channel],
    metadata: Sequence[tuple[str, str]],
    artifacts: int = ARTIFACTS_PER_WORKER,
    *,
    hot: bool = False,
) -> list[Op]:
    """Workers (one per channel) each sending first messages (new chat, new key every call) about artifacts.

    Each worker cycles through ``artifacts`` artifacts of its own, so an artifact gains a few dozen chats over a
    run, as a well-discussed document would, rather than thousands. ``hot``: every worker about ONE artifact, as
    when a popular document gets many chats at once (every call appends to that artifact's stream).
    """
    shared = await _artifacts(channels[0], metadata, 1, "hot") if hot else []
    ops: list[Op] = []
    for worker, channel in enumerate(channels):
        chats = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
        turn = itertools.cycle(shared or await _artifacts(channel, metadata, artifacts, str(worker)))

        async def op(
            turn: Iterator[str] = turn, chats: threads_service_pb2_grpc.ChatCommandServiceAsyncStub = chats
        ) -> None:
            request = threads_service_pb2.EnsureChatForArtifactAndSendMessageRequest(
                artifact_id=next(turn), message=_message(), idempotency_key=uuid.uuid4().hex
            )
            await chats.EnsureChatForArtifactAndSendMessage(request, metadata=metadata)

        ops.append(op)
    return ops


@contextlib.asynccontextmanager
async def client_channels(target: str, count: int, *, own_connections: bool) -> AsyncIterator[list[grpc.aio.Channel]]:
    """``count`` channels to ``target``: each with its own connection, or one channel shared by all."""
    async with contextlib.AsyncExitStack() as stack:
        if not own_connections:
            shared = await stack.enter_async_context(grpc.aio.insecure_channel(target))
            yield [shared] * count
            return
        yield [
            await stack.enter_async_context(grpc.aio.insecure_channel(target, options=OWN_CONNECTION))
            for _ in range(count)
        ]


@dataclass(frozen=True, slots=True)
class Setup:
    """What a run measures with: timing, the servers, their client channels and the caller's credentials."""

    seconds: float
    rounds: int
    warmup: int
    artifacts: int
    metadata: Sequence[tuple[str, str]]
    conninfo: str
    servers: dict[str, Child]
    channels: dict[str, list[grpc.aio.Channel]]
    reply_size: int
    database: DatabaseCpu


async def _level(setup: Setup, c: int) -> dict[str, Measurement]:
    """Every variant at concurrency ``c``, interleaved."""
    servers, channels, metadata = setup.servers, setup.channels, setup.metadata
    command_cpu, other_cpu = servers["command"].cpu_seconds, servers["flipped"].cpu_seconds
    async with contextlib.AsyncExitStack() as stack:
        raw = await raw_ops(stack, setup.conninfo, [Writer([uuid.uuid4()]) for _ in range(c)])
        variants = [
            Variant("echo", echo_ops(channels["echo"][:c]), servers["echo"].cpu_seconds),
            Variant("raw", raw),
            Variant("floor", append_ops(channels["floor"][:c], setup.reply_size), servers["floor"].cpu_seconds),
            Variant("send", await send_ops(channels["command"][:c], metadata), command_cpu),
            Variant("keyed", await send_ops(channels["command"][:c], metadata, keyed=True), command_cpu),
            Variant("keyed flipped", await send_ops(channels["flipped"][:c], metadata, keyed=True), other_cpu),
            Variant("ensure", await ensure_ops(channels["command"][:c], metadata, setup.artifacts), command_cpu),
        ]
        if c == HOT_ARTIFACT_LEVEL:
            hot = await ensure_ops(channels["command"][:c], metadata, hot=True)
            hot_flipped = await ensure_ops(channels["flipped"][:c], metadata, hot=True)
            variants += [Variant("hot", hot, command_cpu), Variant("hot flipped", hot_flipped, other_cpu)]
        return await interleave(variants, setup.seconds, setup.rounds, setup.warmup, setup.database)


async def run(
    database_url: str, redis_url: str, *, quick: bool, workers: int = 1, channel_per_worker: bool = False
) -> list[Row]:
    """Measure every variant at each concurrency in one run; return the table rows."""
    seconds, rounds, warmup = (1.0, 2, 2) if quick else (5.0, 4, WARMUP_CALLS)
    artifacts = QUICK_ARTIFACTS_PER_WORKER if quick else ARTIFACTS_PER_WORKER
    levels = QUICK_CONCURRENCY if quick else CONCURRENCY
    jwt_secret = secrets.token_urlsafe(32)
    metadata = (("authorization", f"Bearer {mint_token(jwt_secret, user_id='bench-user', tenant_id='bench')}"),)
    group_commit = CommandSettings().group_commit
    setup_note = f"{workers} command worker{'s' if workers > 1 else ''}, " + (
        "a channel per client worker" if channel_per_worker else "one shared channel"
    )
    rows: list[Row] = []
    async with scratch_database(database_url) as url:
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            for statement in RAW_DDL:
                await conn.execute(statement)
        async with (
            side_by_side(
                echo_server(),
                command_server(url, redis_url, jwt_secret, workers),
                command_server(url, redis_url, jwt_secret, workers, group_commit=not group_commit),
                floor_server(conninfo, {}),
            ) as (echo, command, flipped, floor),
            contextlib.AsyncExitStack() as stack,
        ):
            servers = {"echo": echo, "command": command, "flipped": flipped, "floor": floor}
            channels = {
                name: await stack.enter_async_context(
                    client_channels(child.target, max(levels), own_connections=channel_per_worker)
                )
                for name, child in servers.items()
            }
            size = await send_reply_size(channels["command"][0], metadata)
            meter = await stack.enter_async_context(await psycopg.AsyncConnection.connect(conninfo, autocommit=True))
            setup = Setup(
                seconds, rounds, warmup, artifacts, metadata, conninfo, servers, channels, size, DatabaseCpu(meter)
            )
            for c in levels:
                measured = await _level(setup, c)
                note = f"{setup_note}; {size}-byte replies; group commit {'on' if group_commit else 'off'}"
                rows += level_rows(c, measured, group_commit=group_commit, setup=note)
    return rows


async def send_reply_size(channel: grpc.aio.Channel, metadata: Sequence[tuple[str, str]]) -> int:
    """The size of a SendMessage reply (what the floor server answers with)."""
    chats = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
    created = await chats.CreateChat(threads_service_pb2.CreateChatRequest(title="size"), metadata=metadata)
    request = threads_service_pb2.SendMessageRequest(threads_id=created.threads.id, message=_message())
    return (await chats.SendMessage(request, metadata=metadata)).ByteSize()


def micros(value: float | None) -> str:
    """Microseconds as a whole number, or n/a."""
    return "n/a" if value is None else f"{value:,.0f}"


def cpu_note(cell: Measurement) -> str:
    """A measurement's CPU time per operation: the server's, PostgreSQL's and the machine's."""
    return (
        f"CPU/op: server {micros(cell.server_us)} us, PostgreSQL {micros(cell.postgres_us)} us,"
        f" client {cell.client_us:,.0f} us, machine {cell.cpu.cpu_us_per_op:,.0f} us"
    )


def level_rows(c: int, m: dict[str, Measurement], *, group_commit: bool, setup: str) -> list[Row]:
    """One concurrency level's rows: the baselines and bounds, then each variant beside the floor."""
    echo, raw, floor = m["echo"], m["raw"], m["floor"]
    base = f"echo c={c}"
    floor_name = f"floor: gRPC + raw append c={c}"
    on, off = ("keyed", "keyed flipped") if group_commit else ("keyed flipped", "keyed")
    state = "on" if not group_commit else "off"
    rows = [
        Row(base, echo.rps, "rps", p50_ms=echo.p50_ms, p95_ms=echo.p95_ms,
            note=f"bare grpc.aio unary, one process; {cpu_note(echo)}"),
        Row(f"raw SQL append txn c={c}", raw.rps, "tx/s", p50_ms=raw.p50_ms, p95_ms=raw.p95_ms,
            note=f"psycopg: BEGIN, event, outbox row, COMMIT; {cpu_note(raw)}"),
        Row(f"ceiling: echo + raw append c={c}", ceiling_rps(echo.cpu, raw.cpu), "rps", base, echo.rps,
            note=f"{cores()} cores / (echo's + raw append's CPU per op): no server reaches more here"),
        Row(floor_name, floor.rps, "rps", base, echo.rps, floor.p50_ms, floor.p95_ms,
            f"bare grpc.aio doing the raw append transaction per call, nothing else; {cpu_note(floor)}"),
        Row(f"SendMessage c={c}", m["send"].rps, "rps", floor_name, floor.rps, m["send"].p50_ms, m["send"].p95_ms,
            f"no key; {setup}; {cpu_note(m['send'])}"),
        Row(f"SendMessage+key c={c}", m["keyed"].rps, "rps", floor_name, floor.rps, m["keyed"].p50_ms,
            m["keyed"].p95_ms, f"a new idempotency key per call, as the SDKs send; {cpu_note(m['keyed'])}"),
        Row(f"SendMessage+key c={c}, group commit {state}", m["keyed flipped"].rps, "rps", floor_name, floor.rps,
            m["keyed flipped"].p50_ms, m["keyed flipped"].p95_ms,
            f"the same on a second server with AMEIDE_GROUP_COMMIT flipped; {cpu_note(m['keyed flipped'])}"),
        Row(f"group commit on/off: SendMessage+key c={c}", m[on].rps, "rps", f"group commit off c={c}", m[off].rps,
            m[on].p50_ms, m[on].p95_ms,
            f"p50 {m[on].p50_ms - m[off].p50_ms:+.2f} ms, p95 {m[on].p95_ms - m[off].p95_ms:+.2f} ms against off"),
        Row(f"Ensure (new chat) c={c}", m["ensure"].rps, "rps", floor_name, floor.rps, m["ensure"].p50_ms,
            m["ensure"].p95_ms, f"4 events, 2 streams, key; {cpu_note(m['ensure'])}"),
    ]  # fmt: skip
    if c == 1:
        rows.append(Row("group commit: added p50 at c=1", m[on].p50_ms - m[off].p50_ms, "ms",
                        note=f"SendMessage+key p50 with group commit on ({m[on].p50_ms:.2f} ms) minus off "
                             f"({m[off].p50_ms:.2f} ms), same run"))  # fmt: skip
    if "hot" in m:
        hot, other = m["hot"], m["hot flipped"]
        note = f"every call a new chat about the same artifact; {cpu_note(hot)}"
        rows.append(Row(f"Ensure (new chat), one hot artifact c={c}", hot.rps, "rps", floor_name, floor.rps,
                        hot.p50_ms, hot.p95_ms, note))  # fmt: skip
        rows.append(Row(f"Ensure (new chat), one hot artifact c={c}, group commit {state}", other.rps, "rps",
                        floor_name, floor.rps, other.p50_ms, other.p95_ms,
                        f"the same on the server with AMEIDE_GROUP_COMMIT flipped; {cpu_note(other)}"))  # fmt: skip
    for name, key in (("SendMessage", "send"), ("SendMessage+key", "keyed"), ("Ensure (new chat)", "ensure")):
        rows += cpu_rows(f"{name} c={c}", m[key], floor, f"c={c}")
    return rows


def cpu_rows(name: str, cell: Measurement, floor: Measurement, floor_label: str) -> list[Row]:
    """CPU time per request of ``name``: the server's and PostgreSQL's (its database's backends), beside the floor's."""
    rows = []
    if cell.server_us is not None and floor.server_us is not None:
        rows.append(Row(f"server CPU/request: {name}", cell.server_us, "us", f"floor server CPU/request {floor_label}",
                        floor.server_us, note="the server's processes (/proc), per request"))  # fmt: skip
    if cell.postgres_us is not None and floor.postgres_us is not None:
        rows.append(Row(f"PostgreSQL CPU/request: {name}", cell.postgres_us, "us",
                        f"floor PostgreSQL CPU/request {floor_label}", floor.postgres_us,
                        note="the database's backends (/proc), per request"))  # fmt: skip
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ameide_bench.command --database-url URL --redis-url URL [--quick] [--workers N] [...]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", help="any database on the server; a scratch one is used")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--quick", action="store_true", help="short cells (a smoke run)")
    parser.add_argument("--workers", type=int, default=1, help="command server processes (ameide serve --workers)")
    parser.add_argument(
        "--channel-per-worker", action="store_true", help="a channel (connection) per client worker, echo included"
    )
    parser.add_argument("--echo-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.echo_server:
        asyncio.run(serve_echo())
        return
    if not args.database_url:
        parser.error("--database-url is required")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    rows = asyncio.run(
        run(
            args.database_url,
            args.redis_url,
            quick=args.quick,
            workers=args.workers,
            channel_per_worker=args.channel_per_worker,
        )
    )
    print_table(rows, title=f"command path ({'quick' if args.quick else 'full'})")


if __name__ == "__main__":
    main()
