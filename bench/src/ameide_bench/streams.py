"""Live-update benchmark: commit-to-subscriber propagation latency and memory per idle subscriber.

A query server (LiveUpdates behind the real gRPC server with its interceptors) runs in a child process; this
process commits feed entries the way the projector does (read-model transaction, then XADD after commit) at a
steady rate and holds the subscribers' gRPC streams. Latency is measured from the return of the COMMIT to the
arrival of the update at the subscriber. Run ``python -m ameide_bench.streams --database-url URL
--redis-url URL [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.asyncio import Redis
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ameide_bench.eventstore import scratch_database
from ameide_bench.report import Row, print_table
from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc, threads_types_pb2
from ameide_projector.config import ProjectorSettings
from ameide_projector.feed.publisher import FeedPublisher
from ameide_projector.feed.writer import append_feed_entries
from ameide_query.config import QuerySettings
from ameide_readmodel.chats import rm_chats
from ameide_readmodel.feed.entries import FeedUpdate
from ameide_readmodel.feed.names import chat_feed
from ameide_runtime.settings import AuthSettings

TENANT = "bench-tenant"
SECRET = "bench-streams-secret-0123456789abcdef"  # noqa: S105 - a throwaway dev-mode key
SUBSCRIBER_COUNTS = (1, 100, 1000)
QUICK_SUBSCRIBER_COUNTS = (1, 100)  # the smoke run stops at 100 streams (starting 1,000 alone takes a while)
PER_CHAT = 10  # viewers per chat: a busy team chat
RATE = 50  # committed updates per second, spread over the chats
FAN_OUT_RATE = 10  # one chat with 100 viewers: 1,000 deliveries per second
CHANNELS = 4  # client connections the subscribers spread over
SETTLE_SECONDS = 2.0
QUICK_SETTLE_SECONDS = 0.5
CAUGHT_UP = threads_types_pb2.StreamControl.KIND_CAUGHT_UP


def settings() -> QuerySettings:
    """Settings of the benchmark's query server."""
    return QuerySettings(
        auth=AuthSettings(auth="insecure-headers", token_secret=SECRET), subscriber_queue_size=256, heartbeat_seconds=60
    )


# --- the query server (child process) ------------------------------------------------------------------------


async def serve(database_url: str, redis_url: str, prefix: str) -> None:
    """Serve StreamChatUpdates until stdin closes; print ``PORT <n>`` once listening."""
    from ameide_query.streams import LiveUpdates  # noqa: PLC0415 - child process only
    from ameide_query.views import access  # noqa: PLC0415 - child process only
    from ameide_query.views.consistency import ConsistencyWaiter  # noqa: PLC0415 - child process only
    from ameide_query.views.db import ReadPool  # noqa: PLC0415 - child process only
    from ameide_runtime.grpc_server import ServiceBinding  # noqa: PLC0415 - child process only
    from ameide_runtime.grpc_server import serve as serve_grpc  # noqa: PLC0415 - child process only
    from ameide_runtime.tokens import TokenCodec  # noqa: PLC0415 - child process only

    config = settings()
    pool = ReadPool(database_url, size=40, timeout=30)
    redis = Redis.from_url(redis_url)
    codec = TokenCodec(config.auth.token_key())
    # The subscribers send no consistency token: the pool opens no connection.
    read_pool = ReadPool(database_url, size=1)
    consistency = ConsistencyWaiter(read_pool, codec, wait_ms=config.consistency_wait_ms)
    live = LiveUpdates(
        settings=config, db=pool, redis=redis, codec=codec, access=access, consistency=consistency,
        key_prefix=prefix,
    )  # fmt: skip

    class Streams(threads_service_pb2_grpc.ChatQueryServiceServicer):
        async def StreamChatUpdates(
            self, request: threads_service_pb2.StreamChatRequest, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[threads_service_pb2.ChatUpdate]:
            async for update in live.chat_updates(request, context):
                yield update

    binding = ServiceBinding(
        "ameide_core_proto.threads.v1.ChatQueryService",
        threads_service_pb2_grpc.add_ChatQueryServiceServicer_to_server,
        Streams(),  # type: ignore[abstract]
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_stdin() -> None:
        # The parent closes our stdin to stop us (and a dead parent closes it too).
        if not os.read(sys.stdin.fileno(), 4096):
            loop.remove_reader(sys.stdin.fileno())
            stop.set()

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    await live.start()
    try:
        await serve_grpc(
            config.server, config.auth, [binding], port=0, metrics_port=None, on_shutdown=[live.stop], stop=stop,
            ready=lambda port: print(f"PORT {port}", flush=True),
        )  # fmt: skip
    finally:
        await read_pool.close()
        await pool.close()
        await redis.aclose()


@contextlib.asynccontextmanager
async def query_server(database_url: str, redis_url: str, prefix: str) -> AsyncIterator[tuple[str, int]]:
    """Start the child query server; yield its target and pid."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ameide_bench.streams", "--serve", "--database-url", database_url,
        "--redis-url", redis_url, "--prefix", prefix,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None  # noqa: S101 - requested above
    assert proc.stdin is not None  # noqa: S101 - requested above
    try:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), timeout=60)).decode()
            if not line:
                raise RuntimeError("query server exited before listening")
            if line.startswith("PORT "):
                break
        yield f"127.0.0.1:{int(line.split()[1])}", proc.pid
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout=30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


# --- this process: writer and subscribers ---------------------------------------------------------------------


async def seed_chats(engine: AsyncEngine, count: int) -> list[uuid.UUID]:
    """TEAM chats every bench user may read."""
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(count)]
    rows = [
        {"id": chat_id, "tenant_id": TENANT, "owner": "owner", "title": "bench", "visibility": 2, "description": "",
         "labels": {}, "tags": [], "agent_id": "a", "message_count": 0, "created_at": now, "updated_at": now,
         "last_activity_at": now, "deleted": False, "version": 1}
        for chat_id in ids
    ]  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(insert(rm_chats), rows)
    return ids


async def write(engine: AsyncEngine, publisher: FeedPublisher, chat_id: uuid.UUID, committed: dict[str, float]) -> None:
    """One projector-like transaction with one message update, then the after-commit publish."""
    mark = uuid.uuid4().hex
    update = threads_service_pb2.ChatUpdate()
    update.message.id = mark
    update.message.threads_id = str(chat_id)
    update.message.role = "user"
    update.message.parts.add().text.text = "hello " * 20
    feed = FeedUpdate(chat_feed(str(chat_id)), TENANT, update.SerializeToString(), datetime.now(UTC))
    async with engine.begin() as conn:
        entries = await append_feed_entries(conn, [feed])
    committed[mark] = time.time()
    await publisher.publish(entries)


# --- the subscribers (child process): arrival times are wall-clock, joined with commit times by the parent ------


async def follow(stub: threads_service_pb2_grpc.ChatQueryServiceStub, chat_id: str, user: str, ready: asyncio.Event,
                 arrivals: list[tuple[str, float]]) -> None:  # fmt: skip
    """Read one stream, noting when each message arrives."""
    request = threads_service_pb2.StreamChatRequest(threads_id=chat_id)
    call: Any = stub.StreamChatUpdates(request, metadata=(("x-user-id", user), ("x-tenant-id", TENANT)))
    with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
        async for update in call:
            if update.WhichOneof("update") != "control":
                arrivals.append((update.message.id, time.time()))
            elif update.control.kind == CAUGHT_UP:
                ready.set()


async def subscribe_main(target: str, chats: Sequence[str], per_chat: int) -> None:
    """Open the streams, print READY, then on ``EXPECT n`` wait for n arrivals (bounded) and print them as JSON."""
    channels = [grpc.aio.insecure_channel(target) for _ in range(CHANNELS)]
    arrivals: list[tuple[str, float]] = []
    events = [asyncio.Event() for _ in range(len(chats) * per_chat)]
    tasks = [
        asyncio.create_task(
            follow(
                threads_service_pb2_grpc.ChatQueryServiceStub(channels[i % len(channels)]),
                chats[i % len(chats)],
                f"user-{i}",
                event,
                arrivals,
            )
        )
        for i, event in enumerate(events)
    ]
    await asyncio.gather(*(event.wait() for event in events))
    print("READY", flush=True)
    line = await asyncio.to_thread(sys.stdin.readline)
    expected = int(line.split()[1]) if line.startswith("EXPECT") else 0
    deadline = time.monotonic() + 15
    while len(arrivals) < expected and time.monotonic() < deadline:  # noqa: ASYNC110 - a bounded poll is enough here
        await asyncio.sleep(0.02)
    print(json.dumps(arrivals), flush=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for channel in channels:
        await channel.close()


@contextlib.asynccontextmanager
async def subscriber_process(target: str, chats: Sequence[uuid.UUID], per_chat: int) -> AsyncIterator[Subscribers]:
    """Start the subscriber child and wait until every stream is live."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump([str(c) for c in chats], handle)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ameide_bench.streams", "--subscribe", target, "--chats-file", handle.name,
        "--per-chat", str(per_chat), "--database-url", "-", "--redis-url", "-",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**28,
    )  # fmt: skip
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=180)  # type: ignore[union-attr]
        if not line.startswith(b"READY"):
            raise RuntimeError("subscribers did not start")
        yield Subscribers(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        os.unlink(handle.name)  # noqa: PTH108 - one tiny local file


@dataclass
class Subscribers:
    """The running subscriber child."""

    proc: asyncio.subprocess.Process

    async def collect(self, expected: int) -> list[tuple[str, float]]:
        """Ask for the arrivals once ``expected`` have come (or a bound passed)."""
        assert self.proc.stdin is not None  # noqa: S101 - requested at start
        assert self.proc.stdout is not None  # noqa: S101 - requested at start
        self.proc.stdin.write(f"EXPECT {expected}\n".encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=60)
        return [(mark, float(at)) for mark, at in json.loads(line)]


Write = Callable[[uuid.UUID, dict[str, float]], Coroutine[Any, Any, None]]


async def steady(*, queries_target: str, chats: Sequence[uuid.UUID], per_chat: int, seconds: float,
                 write: Write, rate: int = RATE, settle: float = SETTLE_SECONDS) -> list[float]:  # fmt: skip
    """Latencies (s) of writes made at ``rate`` per second while ``len(chats) * per_chat`` streams follow.

    Writes to one chat are serialized, as the projector serializes a chat's events (one outbox shard).
    """
    committed: dict[str, float] = {}
    locks = {chat_id: asyncio.Lock() for chat_id in chats}

    async def serialized(chat_id: uuid.UUID) -> None:
        async with locks[chat_id]:
            await write(chat_id, committed)

    async with subscriber_process(queries_target, chats, per_chat) as subs:
        writes: list[asyncio.Task[None]] = []
        start = time.perf_counter()
        warmup = min(1.0, seconds / 4)
        measured_after = time.time() + warmup
        tick = 0
        while time.perf_counter() - start < seconds + warmup:
            writes.append(asyncio.create_task(serialized(chats[tick % len(chats)])))
            tick += 1
            await asyncio.sleep(max(0.0, start + tick / rate - time.perf_counter()))
        await asyncio.gather(*writes)
        arrivals = await subs.collect(len(committed) * per_chat)
    # Let the server finish tearing the closed streams down before the next cell measures anything.
    await asyncio.sleep(settle)
    return [at - committed[mark] for mark, at in arrivals if committed.get(mark, 0) >= measured_after]


async def propagation(target: str, engine: AsyncEngine, publisher: FeedPublisher, *, chats: Sequence[uuid.UUID],
                      per_chat: int, seconds: float, rate: int = RATE,
                      settle: float = SETTLE_SECONDS) -> list[float]:  # fmt: skip
    """Latencies (s) from the projector-like commit to the subscribers."""

    async def commit(chat_id: uuid.UUID, committed: dict[str, float]) -> None:
        await write(engine, publisher, chat_id, committed)

    return await steady(queries_target=target, chats=chats, per_chat=per_chat, seconds=seconds, write=commit, rate=rate,
                        settle=settle)  # fmt: skip


# --- the whole pipeline: command service -> event store -> projector -> query service ---------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _until_serving(target: str, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            with contextlib.suppress(grpc.aio.AioRpcError):
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{target} did not become SERVING")
            await asyncio.sleep(0.1)


class Deployables(dict[str, str]):
    """The running deployables' targets by name, and their process ids (``pids``) for CPU accounting."""

    def __init__(self, targets: dict[str, str], pids: dict[str, int]) -> None:
        super().__init__(targets)
        self.pids = pids


@contextlib.asynccontextmanager
async def deployables(
    database_url: str, redis_url: str, extra_env: dict[str, str] | None = None
) -> AsyncIterator[Deployables]:
    """Run ``ameide serve command|projector|query`` (insecure-headers mode, ``extra_env`` added); yield them."""
    ports = {"command": _free_port(), "query": _free_port(), "projector": _free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMEIDE_")} | {
        "AMEIDE_DATABASE_URL": database_url, "AMEIDE_REDIS_URL": redis_url, "AMEIDE_AUTH": "insecure-headers",
        "AMEIDE_TOKEN_SECRET": SECRET, "AMEIDE_BIND_HOST": "127.0.0.1", "AMEIDE_LOG_LEVEL": "WARNING",
        "AMEIDE_COMMAND_PORT": str(ports["command"]), "AMEIDE_QUERY_PORT": str(ports["query"]),
        "AMEIDE_PROJECTOR_HEALTH_PORT": str(ports["projector"]), "AMEIDE_COMMAND_METRICS_PORT": "0",
        "AMEIDE_QUERY_METRICS_PORT": "0", "AMEIDE_PROJECTOR_METRICS_PORT": "0",
        "AMEIDE_COMMAND_TARGET": f"127.0.0.1:{ports['command']}",
    } | (extra_env or {})  # fmt: skip
    procs: dict[str, asyncio.subprocess.Process] = {}
    try:
        for name in ports:
            # One by one, so that the ones already started are stopped below if a later one fails.
            procs[name] = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "ameide_cli", "serve", name, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        for port in ports.values():
            await _until_serving(f"127.0.0.1:{port}")
        targets = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
        yield Deployables(targets, {name: proc.pid for name, proc in procs.items()})
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.terminate()
        for proc in procs.values():
            try:
                await asyncio.wait_for(proc.wait(), timeout=30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def pipeline_propagation(targets: dict[str, str], *, chats: int, per_chat: int, seconds: float,
                               settle: float = SETTLE_SECONDS) -> list[float]:  # fmt: skip
    """Latencies (s) from SendMessage's response to the subscribers, through projector and query service."""
    metadata = (("x-user-id", "owner"), ("x-tenant-id", TENANT))
    async with grpc.aio.insecure_channel(targets["command"]) as cmd, grpc.aio.insecure_channel(targets["query"]) as qry:
        commands = threads_service_pb2_grpc.ChatCommandServiceStub(cmd)
        queries = threads_service_pb2_grpc.ChatQueryServiceStub(qry)
        ids: list[uuid.UUID] = []
        for _ in range(chats):
            created = await commands.CreateChat(
                threads_service_pb2.CreateChatRequest(title="bench", visibility=threads_types_pb2.CHAT_VISIBILITY_TEAM),
                metadata=metadata,
            )
            # Subscribing needs the chat in the read model: wait for this write to be projected.
            await queries.GetChat(
                threads_service_pb2.GetChatRequest(threads_id=created.threads.id,
                                                   consistency_token=created.consistency_token),
                metadata=metadata,
            )  # fmt: skip
            ids.append(uuid.UUID(created.threads.id))

        async def send(chat_id: uuid.UUID, committed: dict[str, float]) -> None:
            request = threads_service_pb2.SendMessageRequest(threads_id=str(chat_id))
            request.message.role = "user"
            request.message.parts.add().text.text = "hello " * 20
            reply = await commands.SendMessage(request, metadata=metadata)
            committed[reply.message.id] = time.time()

        return await steady(queries_target=targets["query"], chats=ids, per_chat=per_chat, seconds=seconds, write=send,
                            settle=settle)  # fmt: skip


def rss_kib(pid: int) -> int:
    """Resident set size of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def idle_memory(target: str, pid: int, chats: Sequence[uuid.UUID], count: int,
                      settle: float = SETTLE_SECONDS) -> float:  # fmt: skip
    """RSS growth of the query server per idle subscriber (KiB), ``count`` streams over ``chats``."""
    before = rss_kib(pid)
    async with subscriber_process(target, chats, max(1, count // len(chats))) as subs:
        after = rss_kib(pid)
        await subs.collect(0)
    await asyncio.sleep(settle)
    return (after - before) / count


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


async def run(database_url: str, redis_url: str, *, quick: bool) -> list[Row]:
    """Measure propagation at each subscriber count and memory per idle subscriber; return the table rows."""
    seconds, settle = (1.5, QUICK_SETTLE_SECONDS) if quick else (10.0, SETTLE_SECONDS)
    counts = QUICK_SUBSCRIBER_COUNTS if quick else SUBSCRIBER_COUNTS
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    rows: list[Row] = []
    async with scratch_database(database_url) as url:
        engine = create_async_engine(url, pool_size=10, max_overflow=10)
        redis = Redis.from_url(redis_url)
        publisher = FeedPublisher(ProjectorSettings(), engine, redis, key_prefix=prefix)
        try:
            chats = await seed_chats(engine, max(counts))
            async with query_server(url, redis_url, prefix) as (target, pid):
                # First, on a fresh server: later scenarios leave freed memory the allocator would reuse.
                per_sub = await idle_memory(target, pid, chats, max(counts), settle)
                rows.append(
                    Row("memory per idle subscriber", per_sub, "KiB", note=f"query server RSS delta / {max(counts):,}")
                )
                for count in counts:
                    per_chat = min(count, PER_CHAT)
                    lat = await propagation(
                        target, engine, publisher, chats=chats[: count // per_chat], per_chat=per_chat, seconds=seconds,
                        settle=settle,
                    )  # fmt: skip
                    rows.append(_latency_row(f"commit->subscriber, {count} subscribers ({per_chat}/chat)", lat, RATE))
                lat = await propagation(
                    target, engine, publisher, chats=chats[:1], per_chat=100, seconds=seconds, rate=FAN_OUT_RATE,
                    settle=settle,
                )  # fmt: skip
                rows.append(_latency_row("commit->subscriber, 100 subscribers on 1 chat", lat, FAN_OUT_RATE))
            async with deployables(url, redis_url) as targets:
                lat = await pipeline_propagation(targets, chats=10, per_chat=PER_CHAT, seconds=seconds, settle=settle)
                rows.append(_latency_row("SendMessage->subscriber via projector, 100 subscribers (10/chat)", lat, RATE))
        finally:
            await engine.dispose()
            await redis.aclose()
    return rows


def _latency_row(name: str, latencies: Sequence[float], rate: int) -> Row:
    if not latencies:
        return Row(name, float("nan"), "ms p95", note="no update arrived")
    p50, p95, p99 = (_percentile(latencies, q) for q in (0.5, 0.95, 0.99))
    return Row(name, p95, "ms p95", p50_ms=p50, p95_ms=p95,
               note=f"p99 {p99:.1f} ms, n={len(latencies)}, {rate} commits/s; target p95 < 20 ms")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ameide_bench.streams --database-url URL --redis-url URL [--quick]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True, help="any database on the server; a scratch one is used")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--quick", action="store_true", help="up to 100 subscribers, short cells (a smoke run)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="", help=argparse.SUPPRESS)
    parser.add_argument("--subscribe", default="", help=argparse.SUPPRESS)
    parser.add_argument("--chats-file", default="", help=argparse.SUPPRESS)
    parser.add_argument("--per-chat", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.subscribe:
        chats = json.loads(Path(args.chats_file).read_text())
        asyncio.run(subscribe_main(args.subscribe, chats, args.per_chat))
        return
    if args.serve:
        asyncio.run(serve(args.database_url, args.redis_url, args.prefix))
        return
    rows = asyncio.run(run(args.database_url, args.redis_url, quick=args.quick))
    print_table(rows, title=f"live updates ({'quick' if args.quick else 'full'})")


if __name__ == "__main__":
    main()
