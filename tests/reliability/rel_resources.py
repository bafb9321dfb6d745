"""Measurements for the resource scenarios: RSS of every deployable, and a latency probe of an ordinary client.

Figures are reported (in the scenario table and on stdout), never asserted as timings; tests assert only bounded
memory and correctness.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
from typing import Any

import grpc
import grpc.aio

from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from tests.reliability.rel_client import Caller, Stubs
from tests.reliability.rel_fleet import Fleet


def rss_mib(fleet: Fleet) -> dict[str, float]:
    """RSS of every running instance, MiB."""
    return {name: round(fleet.rss_kib(name) / 1024, 1) for name in fleet.names() if fleet.running(name)}


def p95(samples: list[float]) -> float:
    """95th percentile (milliseconds in, milliseconds out)."""
    if len(samples) < 2:
        return samples[0] if samples else 0.0
    return statistics.quantiles(samples, n=20)[-1]


@dataclasses.dataclass
class Probe:
    """An ordinary client reading one chat's first page in a loop; its latencies in ms."""

    stubs: Stubs
    who: Caller
    chat_id: str
    samples: list[float] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)

    async def run(self, calls: int, *, pause: float = 0.0) -> float:
        """``calls`` sequential GetMessages; their p95 in ms."""
        samples = []
        request = chat.GetMessagesRequest(threads_id=self.chat_id, page_size=50)
        for _ in range(calls):
            started = time.perf_counter()
            try:
                await self.stubs.chat_reads.GetMessages(request, metadata=self.who.metadata, timeout=30)
            except grpc.aio.AioRpcError as error:
                self.errors.append(f"{error.code().name}: {error.details()}")
            samples.append((time.perf_counter() - started) * 1000)
            self.samples.append(samples[-1])
            if pause:
                await asyncio.sleep(pause)
        return p95(samples)


async def open_idle_streams(
    stubs_list: list[Stubs], who: Caller, chat_ids: list[str], count: int
) -> list[grpc.aio.UnaryStreamCall[Any, Any]]:
    """``count`` subscriptions spread over the channels and chats; returns once each has said SUBSCRIBED."""
    calls = []
    for index in range(count):
        stubs = stubs_list[index % len(stubs_list)]
        request = chat.StreamChatRequest(threads_id=chat_ids[index % len(chat_ids)])
        calls.append(stubs.chat_reads.StreamChatUpdates(request, metadata=who.metadata))
    firsts: list[Any] = await asyncio.gather(*(call.read() for call in calls))
    kinds = {first.control.kind for first in firsts}
    if kinds != {firsts[0].control.KIND_SUBSCRIBED}:
        raise AssertionError(f"idle streams did not all start with SUBSCRIBED: {kinds}")
    return calls
