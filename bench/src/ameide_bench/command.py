"""Command-path benchmark: SendMessage and EnsureChatForArtifactAndSendMessage over real gRPC, beside an echo.

Two servers run as child processes on this machine: the real command deployable (``python -m ameide_cli serve
command``: JWT auth, tracing, metrics and error interceptors, PostgreSQL event store in a scratch database) and a
bare grpc.aio unary echo server. This process drives both with the same client at concurrency 1, 8 and 32
(quick: 8) and reports rps, p50 and p95, and each command's throughput as a ratio of the echo's in the same run.

``--workers N`` runs the command deployable as production scales it on one host (``ameide serve command
--workers N``: N processes sharing the port through SO_REUSEPORT). The kernel spreads connections, not calls,
over the workers, so ``--channel-per-worker`` gives every client worker its own channel (its own connection);
the echo is then driven the same way, and stays one process.
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
from dataclasses import dataclass

import grpc
import grpc.aio
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from ameide_bench.ceiling import Metered, busy_seconds, ceiling_rps, cores
from ameide_bench.children import child_server, fixed_call_ops, serve_until_stdin_closes
from ameide_bench.eventstore import RAW_DDL, Writer, raw_ops, scratch_database
from ameide_bench.floor import append_ops, floor_server
from ameide_bench.report import Row, print_table
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2, artifacts_service_pb2_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc, threads_types_pb2
from ameide_runtime.auth import mint_token

CONCURRENCY = (1, 8, 32)
QUICK_CONCURRENCY = (8,)  # the smoke run: each figure once, at the level the targets name
ECHO_METHOD = "/bench.Echo/Unary"
SIZED_METHOD = "/bench.Echo/Sized"
MAX_SIZED_REPLY = 4 * 1024 * 1024
START_TIMEOUT = 60.0
# A separate connection per channel: channels with equal arguments otherwise share one subchannel (connection).
OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)
ARTIFACTS_PER_WORKER = 32
QUICK_ARTIFACTS_PER_WORKER = 4
WARMUP_CALLS = 5
TEXT = "Could you add an approval step before shipping? " * 4  # a typical short chat message

Op = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Measurement:
    """Throughput and latency of one cell, and the machine's CPU time it took (every process)."""

    rps: float
    p50_ms: float
    p95_ms: float
    cpu: Metered


async def measure(ops: Sequence[Op], seconds: float, warmup: int = WARMUP_CALLS) -> Measurement:
    """Run each op in its own loop (one in-flight call per op) for ``seconds``; return rps and latencies."""
    for op in ops:  # warm-up: channel, server code paths and connection pools
        for _ in range(warmup):
            await op()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def loop(op: Op) -> None:
        while (started := time.perf_counter()) < deadline:
            await op()
            latencies.append(time.perf_counter() - started)

    busy_before, began = busy_seconds(), time.perf_counter()
    await asyncio.gather(*(loop(op) for op in ops))
    elapsed, busy = time.perf_counter() - began, busy_seconds() - busy_before
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return Measurement(
        len(ordered) / elapsed, statistics.median(ordered) * 1000, p95 * 1000, Metered(len(ordered), busy)
    )


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
async def echo_server() -> AsyncIterator[str]:
    """The echo server's ``host:port``."""
    async with child_server("ameide_bench.command", "--echo-server") as target:
        yield target


@contextlib.asynccontextmanager
async def command_server(database_url: str, redis_url: str, jwt_secret: str, workers: int = 1) -> AsyncIterator[str]:
    """The real command deployable (``ameide serve command [--workers N]``) on a free port, until the block ends."""
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
    argv = ["-m", "ameide_cli", "serve", "command", *(["--workers", str(workers)] if workers > 1 else [])]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *argv, env=env, stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE if workers > 1 else None,
    )  # fmt: skip
    target = f"127.0.0.1:{port}"
    relay: asyncio.Task[None] | None = None
    try:
        if proc.stderr is not None:
            await asyncio.wait_for(_wait_listening(proc.stderr, workers), START_TIMEOUT)
            relay = asyncio.create_task(_relay(proc.stderr))
        await _wait_serving(target, proc)
        yield target
    finally:
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
async def both_servers(
    database_url: str, redis_url: str, jwt_secret: str, workers: int = 1
) -> AsyncIterator[tuple[str, str]]:
    """The echo and command servers' targets; they start side by side (a Python server takes seconds to start)."""
    async with contextlib.AsyncExitStack() as stack:
        started = await asyncio.gather(
            stack.enter_async_context(echo_server()),
            stack.enter_async_context(command_server(database_url, redis_url, jwt_secret, workers)),
            return_exceptions=True,  # let both finish starting, so the stack stops whichever did start
        )
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome
        yield str(started[0]), str(started[1])


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


async def send_ops(channels: Sequence[grpc.aio.Channel], metadata: Sequence[tuple[str, str]]) -> list[Op]:
    """Workers (one per channel) each sending into their own chat (no key: the common case of a live conversation)."""
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
            await chats.SendMessage(request, metadata=metadata)

        ops.append(op)
    return ops


async def ensure_ops(
    channels: Sequence[grpc.aio.Channel], metadata: Sequence[tuple[str, str]], artifacts: int = ARTIFACTS_PER_WORKER
) -> list[Op]:
    """Workers (one per channel) each sending first messages (new chat, new key every call) about their artifacts.

    Each worker cycles through ``artifacts`` artifacts, so an artifact gains a few dozen chats over a
    run, as a well-discussed document would, rather than thousands.
    """
    ops: list[Op] = []
    for worker, channel in enumerate(channels):
        chats = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
        artifact_stub = artifacts_service_pb2_grpc.ArtifactCommandServiceStub(channel)
        pool = [
            (
                await artifact_stub.CreateArtifact(
                    artifacts_service_pb2.CreateArtifactRequest(title=f"Process {worker}.{index}", kind="bpmn"),
                    metadata=metadata,
                )
            ).artifact_id
            for index in range(artifacts)
        ]
        turn = itertools.cycle(pool)

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


async def run(
    database_url: str, redis_url: str, *, quick: bool, workers: int = 1, channel_per_worker: bool = False
) -> list[Row]:
    """Measure echo, SendMessage and Ensure at each concurrency in one run; return the table rows."""
    seconds, warmup = (1.0, 2) if quick else (5.0, WARMUP_CALLS)
    artifacts = QUICK_ARTIFACTS_PER_WORKER if quick else ARTIFACTS_PER_WORKER
    levels = QUICK_CONCURRENCY if quick else CONCURRENCY
    jwt_secret = secrets.token_urlsafe(32)
    metadata = (("authorization", f"Bearer {mint_token(jwt_secret, user_id='bench-user', tenant_id='bench')}"),)
    setup = f"{workers} command worker{'s' if workers > 1 else ''}, " + (
        "a channel per client worker" if channel_per_worker else "one shared channel"
    )
    rows: list[Row] = []
    async with (
        scratch_database(database_url) as url,
        both_servers(url, redis_url, jwt_secret, workers) as (echo_target, command_target),
        client_channels(echo_target, max(levels), own_connections=channel_per_worker) as echo_channels,
        client_channels(command_target, max(levels), own_connections=channel_per_worker) as command_channels,
    ):
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            for statement in RAW_DDL:
                await conn.execute(statement)
        size = await send_reply_size(command_channels[0], metadata)
        async with (
            floor_server(conninfo, {}) as floor_target,
            client_channels(floor_target, max(levels), own_connections=channel_per_worker) as floor_channels,
        ):
            for c in levels:
                echo = await measure(echo_ops(echo_channels[:c]), seconds, warmup)
                async with contextlib.AsyncExitStack() as stack:
                    writers = [Writer([uuid.uuid4()]) for _ in range(c)]
                    raw = await measure(await raw_ops(stack, conninfo, writers), seconds, warmup)
                floor = await measure(append_ops(floor_channels[:c], size), seconds, warmup)
                send = await measure(await send_ops(command_channels[:c], metadata), seconds, warmup)
                ensure = await measure(await ensure_ops(command_channels[:c], metadata, artifacts), seconds, warmup)
                cells = Cells(echo=echo, raw=raw, floor=floor, send=send, ensure=ensure)
                rows += _level_rows(c, cells, setup=f"{setup}; {size}-byte replies")
    return rows


async def send_reply_size(channel: grpc.aio.Channel, metadata: Sequence[tuple[str, str]]) -> int:
    """The size of a SendMessage reply (what the floor server answers with)."""
    chats = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
    created = await chats.CreateChat(threads_service_pb2.CreateChatRequest(title="size"), metadata=metadata)
    request = threads_service_pb2.SendMessageRequest(threads_id=created.threads.id, message=_message())
    return (await chats.SendMessage(request, metadata=metadata)).ByteSize()


def _cpu(cell: Measurement) -> str:
    return f"{cell.cpu.cpu_us_per_op:,.0f} us machine CPU/op"


@dataclass(frozen=True, slots=True)
class Cells:
    """One concurrency level's measurements."""

    echo: Measurement
    raw: Measurement
    floor: Measurement
    send: Measurement
    ensure: Measurement


def _level_rows(c: int, cells: Cells, *, setup: str) -> list[Row]:
    """One concurrency level's rows: the baselines, the bounds on SendMessage here, and the commands."""
    echo, raw, floor, send, ensure = cells.echo, cells.raw, cells.floor, cells.send, cells.ensure
    base = f"echo c={c}"
    ceiling = ceiling_rps(echo.cpu, raw.cpu)
    return [
        Row(base, echo.rps, "rps", p50_ms=echo.p50_ms, p95_ms=echo.p95_ms,
            note=f"bare grpc.aio unary, one process; {_cpu(echo)}"),
        Row(f"raw SQL append txn c={c}", raw.rps, "tx/s", p50_ms=raw.p50_ms, p95_ms=raw.p95_ms,
            note=f"psycopg: BEGIN, event, outbox row, COMMIT; {_cpu(raw)}"),
        Row(f"ceiling: echo + raw append c={c}", ceiling, "rps", base, echo.rps,
            note=f"{cores()} cores / (echo's + raw append's CPU per op): no server reaches more here"),
        Row(f"floor: gRPC + raw append c={c}", floor.rps, "rps", base, echo.rps, floor.p50_ms, floor.p95_ms,
            f"bare grpc.aio doing the raw append per call, nothing else; {_cpu(floor)}"),
        Row(f"SendMessage c={c}", send.rps, "rps", base, echo.rps, send.p50_ms, send.p95_ms,
            f"target >= 0.50x; {setup}; {_cpu(send)}"),
        Row(f"Ensure (new chat) c={c}", ensure.rps, "rps", base, echo.rps, ensure.p50_ms, ensure.p95_ms,
            f"4 events, 2 streams, key; p95 target < 10 ms at c=8; {_cpu(ensure)}"),
    ]  # fmt: skip


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
