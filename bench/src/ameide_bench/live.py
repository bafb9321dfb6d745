"""Live-signal benchmark: presence change and draft delta to subscriber, through the real query deployable.

Beside each latency, the same run's baseline: a raw Redis ``XADD`` -> blocking ``XREAD`` round trip on the same Redis
(the hop every signal takes, with nothing of ours around it). Then 50 concurrent drafts at 50 deltas/s each with 10
subscribers per chat (2,500 deltas/s, 25,000 deliveries/s), with the CPU each delta costs the query service and
Redis; and the memory of one presence entry in Redis (``MEMORY USAGE``) beside a one-field hash. The deployables
run as ``ameide serve`` children on a scratch database; the subscribers in a process of their own.
Run ``python -m ameide_bench.live --database-url URL --redis-url URL [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from ameide_bench import live_load
from ameide_bench.ceiling import cores
from ameide_bench.cpu import process_cpu_seconds
from ameide_bench.eventstore import scratch_database
from ameide_bench.report import Row, print_table
from ameide_bench.streams import Deployables, deployables, seed_chats
from ameide_core_proto.live.v1 import live_types_pb2
from ameide_query.live.presence import PresenceStore
from ameide_query.live.scripts import Scripts
from ameide_readmodel.feed.names import chat_feed
from ameide_runtime.identity import Identity

BASELINE = "raw Redis XADD->XREAD round trip"
VIEWING = live_types_pb2.PRESENCE_STATE_VIEWING
PER_CHAT = 10


@dataclass(frozen=True, slots=True)
class Plan:
    """How much each cell does (full or quick)."""

    seconds: float
    round_trips: int
    drafts: int
    rate_per_draft: float
    memory_entries: int


FULL = Plan(seconds=10.0, round_trips=1000, drafts=50, rate_per_draft=50.0, memory_entries=2000)
QUICK = Plan(seconds=2.0, round_trips=200, drafts=10, rate_per_draft=20.0, memory_entries=500)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (seconds) in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


async def round_trips(redis_url: str, count: int) -> list[float]:
    """Seconds from each XADD to a blocked XREAD (another connection) returning it, one at a time."""
    key = f"bench:live:{uuid.uuid4().hex}"
    writer, reader = Redis.from_url(redis_url), Redis.from_url(redis_url)
    latencies: list[float] = []
    last = "0-0"
    try:
        for _ in range(count):
            read: asyncio.Task[Any] = asyncio.ensure_future(reader.xread({key: last}, block=5000, count=1))
            await asyncio.sleep(0.001)  # let the reader's XREAD reach Redis and block, as the live reader's does
            sent = time.time()
            await writer.xadd(key, {b"t": b"1"})
            entries = await read
            latencies.append(time.time() - sent)
            last = entries[0][1][-1][0].decode()
    finally:
        await writer.delete(key)
        await writer.aclose()
        await reader.aclose()
    return latencies


@contextlib.asynccontextmanager
async def subscribers(target: str, chats: Sequence[str], per_chat: int) -> AsyncIterator[asyncio.subprocess.Process]:
    """The subscriber process (``live_subscribers``), once every stream has its snapshot."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(list(chats), handle)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ameide_bench.live_subscribers", target, "--chats-file", handle.name,
        "--per-chat", str(per_chat), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**28,
    )  # fmt: skip
    try:
        assert proc.stdout is not None  # noqa: S101 - requested above
        if not (await asyncio.wait_for(proc.stdout.readline(), timeout=180)).startswith(b"READY"):
            raise RuntimeError("live subscribers did not start")
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        Path(handle.name).unlink()  # noqa: ASYNC240 - one small local file, once


@dataclass(frozen=True, slots=True)
class Received:
    """What the subscribers got: one latency (s) per arrival, and the CPU seconds their process spent."""

    latencies: list[float]
    cpu_seconds: float


async def collect(proc: asyncio.subprocess.Process, sent: dict[str, float], per_chat: int) -> Received:
    """Latencies of every arrival of a mark in ``sent``, once all arrived (or a bound passed)."""
    assert proc.stdin is not None  # noqa: S101 - requested at start
    assert proc.stdout is not None  # noqa: S101 - requested at start
    proc.stdin.write(f"EXPECT {len(sent) * per_chat}\n".encode())
    await proc.stdin.drain()
    report = json.loads(await asyncio.wait_for(proc.stdout.readline(), timeout=120))
    latencies = [at - sent[mark] for mark, at in report["arrivals"] if mark in sent]
    return Received(latencies, float(report["cpu_seconds"]))


async def redis_cpu_seconds(redis: Redis) -> float:
    """CPU seconds the Redis server used so far (its own INFO)."""
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def latency_row(name: str, latencies: Sequence[float], base_p95: float, note: str) -> Row:
    """A latency figure (its p95) beside the round trip's p95."""
    if not latencies:
        return Row(name, float("nan"), "ms p95", note="no signal arrived")
    p50, p95, p99 = (percentile(latencies, q) for q in (0.5, 0.95, 0.99))
    return Row(name, p95, "ms p95", BASELINE, base_p95, p50_ms=p50, p95_ms=p95,
               note=f"p99 {p99:.1f} ms, n={len(latencies)}; {note}")  # fmt: skip


async def signal_latencies(running: Deployables, chats: list[str], plan: Plan, base_p95: float) -> list[Row]:
    """Presence changes and draft deltas, at 50 per second, to 10 subscribers per chat."""
    rows: list[Row] = []
    few = chats[:5]
    async with subscribers(running["query"], few, PER_CHAT) as proc:
        sent = await live_load.presence_changes(running["query"], few, rate=50, seconds=plan.seconds)
        latencies = (await collect(proc, sent, PER_CHAT)).latencies
        rows.append(latency_row(f"presence change->subscriber, {PER_CHAT} subscribers/chat", latencies, base_p95,
                                "50 changes/s over 5 chats, announce sent -> stream received"))  # fmt: skip
    async with subscribers(running["query"], few, PER_CHAT) as proc:
        sent = await live_load.draft_deltas(running["query"], few, rate_per_draft=10, seconds=plan.seconds)
        latencies = (await collect(proc, sent, PER_CHAT)).latencies
        rows.append(latency_row(f"draft delta->subscriber, {PER_CHAT} subscribers/chat", latencies, base_p95,
                                "5 drafts x 10 deltas/s, delta written -> stream received"))  # fmt: skip
    return rows


@dataclass(frozen=True, slots=True)
class CpuSample:
    """CPU seconds so far of the query service, Redis and this process (the agents)."""

    query: float
    redis: float
    agents: float

    @classmethod
    async def take(cls, query_pid: int, redis: Redis) -> CpuSample:
        """Now."""
        return cls(process_cpu_seconds(query_pid) or 0.0, await redis_cpu_seconds(redis), time.process_time())

    def per(self, later: CpuSample, count: int) -> CpuSample:
        """Microseconds per operation between this sample and ``later``."""
        return CpuSample(*((b - a) / count * 1e6 for a, b in zip(astuple(self), astuple(later), strict=True)))


async def many_drafts(
    running: Deployables, redis_url: str, chats: list[str], plan: Plan, base: tuple[float, float]
) -> list[Row]:
    """``plan.drafts`` drafts at ``plan.rate_per_draft`` deltas/s, 10 subscribers each: latency and CPU per delta."""
    base_p95, base_redis_us = base
    label = f"{plan.drafts} drafts x {plan.rate_per_draft:.0f} deltas/s, {PER_CHAT} subscribers/chat"
    redis = Redis.from_url(redis_url)
    try:
        async with subscribers(running["query"], chats[: plan.drafts], PER_CHAT) as proc:
            before = await CpuSample.take(running.pids["query"], redis)
            started = time.perf_counter()
            sent = await live_load.draft_deltas(
                running["query"], chats[: plan.drafts], rate_per_draft=plan.rate_per_draft, seconds=plan.seconds
            )
            elapsed = time.perf_counter() - started
            received = await collect(proc, sent, PER_CHAT)
            after = await CpuSample.take(running.pids["query"], redis)
    finally:
        await redis.aclose()
    deltas = max(1, len(sent))
    cost = before.per(after, deltas)
    subscribers_us = received.cpu_seconds / deltas * 1e6
    achieved = f"{deltas / elapsed:,.0f} deltas/s sent, {len(received.latencies) / elapsed:,.0f} deliveries/s"
    wanted = plan.drafts * plan.rate_per_draft
    return [
        latency_row(f"draft delta->subscriber, {label}", received.latencies, base_p95, achieved),
        Row(f"query service CPU per delta, {label}", cost.query, "µs",
            note=f"its process (/proc): the delta in, its {PER_CHAT} deliveries out"),
        Row(f"Redis CPU per delta, {label}", cost.redis, "µs", "Redis CPU per raw XADD (same run)", base_redis_us,
            note="INFO cpu (the whole server): the delta's script and the live reader's XREAD"),
        Row(f"client CPU per delta, {label}", subscribers_us + cost.agents, "µs",
            note=f"subscribers' process {subscribers_us:,.0f} µs + agents' {cost.agents:,.0f} µs"),
        Row(f"ceiling: deltas/s at these CPU costs ({cores()} cores)",
            cores() / max(1e-9, (cost.query + cost.redis + subscribers_us + cost.agents) / 1e6), "deltas/s",
            f"wanted: {plan.drafts} x {plan.rate_per_draft:.0f} deltas/s", wanted,
            note="cores / every process's CPU per delta: no implementation on this machine does more (D41)"),
    ]  # fmt: skip


async def raw_xadd_cpu_us(redis_url: str, count: int) -> float:
    """Redis CPU microseconds per plain XADD (the baseline of a delta's script)."""
    redis = Redis.from_url(redis_url)
    key = f"bench:live:{uuid.uuid4().hex}"
    try:
        before = await redis_cpu_seconds(redis)
        for _ in range(count):
            await redis.xadd(key, {b"d": b"word ", b"i": b"x" * 36, b"q": b"1"}, maxlen=1000, approximate=True)
        spent = await redis_cpu_seconds(redis) - before
        await redis.delete(key)
    finally:
        await redis.aclose()
    return spent / count * 1e6


async def presence_memory(redis_url: str, entries: int) -> list[Row]:
    """Bytes per present user (one tab) and per further tab, by MEMORY USAGE, beside a one-field hash."""
    redis = Redis.from_url(redis_url)
    prefix = f"bench:live:{uuid.uuid4().hex[:8]}:"
    presence = PresenceStore(redis, Scripts.register(redis), viewing_ttl_seconds=600, typing_ttl_seconds=6,
                             prefix=prefix)  # fmt: skip
    feed = chat_feed(str(uuid.uuid4()))
    try:
        for i in range(entries):
            await presence.announce(feed, Identity(f"user-{i:06d}", "bench-tenant"), "tab-1", VIEWING, f"User {i}")
        one_tab = await _memory(redis, f"{prefix}presence:*")
        for i in range(entries):
            await presence.announce(feed, Identity(f"user-{i:06d}", "bench-tenant"), "tab-2", VIEWING, f"User {i}")
        two_tabs = await _memory(redis, f"{prefix}presence:*")
        await redis.hset(f"{prefix}baseline", "tab-1", "1800000000000:0")
        baseline = await redis.memory_usage(f"{prefix}baseline") or 0
    finally:
        async for key in redis.scan_iter(match=f"{prefix}*"):
            await redis.delete(key)
        await redis.aclose()
    return [
        Row("memory per presence entry (user, 1 tab)", one_tab / entries, "bytes", "one-field hash key", baseline,
            note=f"MEMORY USAGE of every presence key / {entries:,} users on one chat"),
        Row("memory per further tab of a present user", (two_tabs - one_tab) / entries, "bytes",
            note="the growth when each user opens a second tab"),
    ]  # fmt: skip


async def _memory(redis: Redis, pattern: str) -> int:
    total = 0
    async for key in redis.scan_iter(match=pattern, count=1000):
        total += await redis.memory_usage(key) or 0
    return total


async def run(database_url: str, redis_url: str, *, quick: bool) -> list[Row]:
    """Every figure of the scenario."""
    plan = QUICK if quick else FULL
    base = await round_trips(redis_url, plan.round_trips)
    base_p95 = percentile(base, 0.95)
    rows = [Row(BASELINE, base_p95, "ms p95", p50_ms=percentile(base, 0.5), p95_ms=base_p95,
                note=f"n={len(base)}, one at a time, writer and blocked reader on two connections")]  # fmt: skip
    base_redis_us = await raw_xadd_cpu_us(redis_url, plan.round_trips * 5)
    async with scratch_database(database_url) as url:
        engine = create_async_engine(url)
        try:
            chats = [str(chat) for chat in await seed_chats(engine, max(plan.drafts, 5))]
        finally:
            await engine.dispose()
        async with deployables(url, redis_url) as running:
            rows += await signal_latencies(running, chats, plan, base_p95)
            rows += await many_drafts(running, redis_url, chats, plan, (base_p95, base_redis_us))
    rows += await presence_memory(redis_url, plan.memory_entries)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ameide_bench.live --database-url URL --redis-url URL [--quick]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True, help="any database on the server; a scratch one is used")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--quick", action="store_true", help="10 drafts x 20 deltas/s, 2 s cells (a smoke run)")
    args = parser.parse_args(argv)
    rows = asyncio.run(run(args.database_url, args.redis_url, quick=args.quick))
    print_table(rows, title=f"live signals ({'quick' if args.quick else 'full'})")


if __name__ == "__main__":
    main()
