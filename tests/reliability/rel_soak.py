"""The soak: mixed load on the real fleet for a set time, a fault every few minutes, samples every few seconds.

Load: keyed writers that retry with their keys, read-your-writes readers, followers checked by the auditor, many
idle subscribers that resume after a fault, and a probe client whose read latency is sampled. Faults cycle through
kill -9 of each deployable, a PostgreSQL crash, a Redis kill (restarted empty), a Redis flush and a projector
worker leaving and rejoining. The run is bounded by its duration; pass/fail comes only from the auditor and the
status codes, never from a timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_bench.soak import Sample
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from tests.integration.feed.feed_redis_process import RedisProcess
from tests.reliability.rel_client import Caller, Stubs, Tally, stubs
from tests.reliability.rel_fleet import Fleet
from tests.reliability.rel_load import Ledger, World, execute, random_op, reader
from tests.reliability.rel_probe_proc import ProcessProbe
from tests.reliability.rel_resources import p95, rss_mib
from tests.reliability.rel_servers import PgCluster

_OUTBOX = sa.text("SELECT count(*) FROM es_outbox")


@dataclasses.dataclass
class Soak:
    """One soak run's moving parts and what it measured."""

    fleet: Fleet
    pg: PgCluster
    redis: RedisProcess
    engine: AsyncEngine
    clients: Stubs
    world: World
    tally: Tally = dataclasses.field(default_factory=Tally)
    ledger: Ledger = dataclasses.field(default_factory=Ledger)
    samples: list[Sample] = dataclasses.field(default_factory=list)
    faults: list[tuple[float, str]] = dataclasses.field(default_factory=list)
    violations: list[str] = dataclasses.field(default_factory=list)
    open_streams: int = 0
    _write_ms: list[float] = dataclasses.field(default_factory=list)
    _acked: int = 0
    _started: float = 0.0

    def _faults(self) -> list[tuple[str, Callable[[], None]]]:
        fleet, pg, redis = self.fleet, self.pg, self.redis

        def pg_crash() -> None:
            pg.crash()
            time.sleep(2)  # a real outage, long enough for every client to run into it
            pg.start()

        def redis_outage() -> None:
            redis.stop()
            time.sleep(5)
            redis.start()

        def redis_flush() -> None:
            asyncio.run(_flush(redis.url))

        def projector_leaves_and_rejoins() -> None:
            fleet.terminate("projector-2")
            fleet.start("projector-2")

        return [
            ("kill -9 command", lambda: fleet.restart_killed("command")),
            ("kill -9 projector", lambda: fleet.restart_killed("projector")),
            ("PostgreSQL crash", pg_crash),
            ("kill -9 query", lambda: fleet.restart_killed("query")),
            ("Redis killed, restarted empty", redis_outage),
            ("projector-2 leaves and rejoins", projector_leaves_and_rejoins),
            ("Redis flushed", redis_flush),
        ]

    def _now(self) -> float:
        return time.monotonic() - self._started

    async def _writer(self, seed: int, until: float) -> None:
        rng = random.Random(seed)  # noqa: S311 - reproducible load
        index = 0
        while time.monotonic() < until:
            index += 1
            op = random_op(self.world, rng, f"soak{seed}-{index}")
            self.ledger.ops.append(op)
            started = time.perf_counter()
            await execute(op, self.clients, self.tally)
            if op.ack is not None:
                self._write_ms.append((time.perf_counter() - started) * 1000)
                self._acked += 1

    async def _idle_subscriber(self, channel_stubs: Stubs, who: Caller, chat_id: str, until: float) -> None:
        """An idle client: subscribes, and subscribes again after whatever ends its stream."""
        while time.monotonic() < until:
            call = channel_stubs.chat_reads.StreamChatUpdates(
                chat.StreamChatRequest(threads_id=chat_id), metadata=who.metadata
            )
            self.open_streams += 1
            try:
                async with asyncio.timeout(max(0.0, until - time.monotonic())):
                    async for _ in call:
                        pass
            except (grpc.aio.AioRpcError, TimeoutError):
                pass
            finally:
                self.open_streams -= 1
                call.cancel()
            await asyncio.sleep(1 + random.random())  # noqa: S311 - jitter

    async def _inject(self, every: float, until: float) -> None:
        for label, fault in self._cycle():
            if time.monotonic() + every * 1.5 > until:  # no fault in the last stretch: the run ends healthy
                return
            await asyncio.sleep(every)
            self.faults.append((round(self._now(), 1), label))
            await asyncio.to_thread(fault)

    def _cycle(self) -> Any:
        faults = self._faults()
        index = 0
        while True:
            yield faults[index % len(faults)]
            index += 1

    async def _sample(self, probe: ProcessProbe, every: float, until: float) -> None:
        while time.monotonic() < until:
            acked, failures = self._acked, self.tally.requests - self.tally.codes["OK"]
            await asyncio.sleep(every)
            reads = probe.samples[-200:]
            probe.samples.clear()
            writes, self._write_ms = self._write_ms, []
            outbox = -1
            with contextlib.suppress(Exception):
                async with self.engine.connect() as conn:
                    outbox = int((await conn.execute(_OUTBOX)).scalar_one())
            self.samples.append(
                Sample(
                    t=round(self._now(), 1),
                    writes_per_s=round((self._acked - acked) / every, 1),
                    write_p95_ms=round(p95(writes), 2),
                    read_p95_ms=round(p95(reads), 2),
                    rss_mib=rss_mib(self.fleet),
                    outbox=outbox,
                    streams=self.open_streams,
                    failures=self.tally.requests - self.tally.codes["OK"] - failures,
                )
            )

    async def run(
        self, *, seconds: float, fault_every: float, writers: int, idle_streams: int, idle_chats: list[str]
    ) -> None:
        """Drive the load until ``seconds`` have passed (every task stops by itself), faults included.

        Idle subscribers follow ``idle_chats``, which nobody writes to: idle means idle (a subscriber of a written
        chat is a follower, and a few thousand of those would make the test client the bottleneck).
        """
        self._started = time.monotonic()
        until = self._started + seconds
        owner, peer = self.world.users[:2]
        probe = ProcessProbe(
            self.fleet.query_target, self.world.chats[0], self.fleet.token(owner.user_id, owner.tenant_id)
        )
        await probe.start()
        channels = [stubs(self.fleet) for _ in range(max(1, idle_streams // 100))]
        done = asyncio.Event()
        tasks = [
            *(self._writer(1000 + i, until) for i in range(writers)),
            *(
                self._idle_subscriber(channels[i % len(channels)], peer, idle_chats[i % len(idle_chats)], until)
                for i in range(idle_streams)
            ),
            self._inject(fault_every, until),
            self._sample(probe, 10.0, until),
        ]
        reading = [
            asyncio.create_task(reader(self.ledger, self.clients, self.tally, done, seed=i, violations=self.violations))
            for i in range(2)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            await probe.stop()
            done.set()
            await asyncio.gather(*reading)
            for channel_stubs in channels:
                await channel_stubs.close()


async def _flush(url: str) -> None:
    async with Redis.from_url(url) as client:
        await client.flushall()
