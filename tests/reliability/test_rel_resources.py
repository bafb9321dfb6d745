"""Scenario 8: many idle streams, a slow consumer, a flood of ~1 MiB messages, a page walk over a big chat.

Asserted: memory stays bounded (generous caps on RSS growth), every stream gets the fan-out, the slow consumer is
cut with RESOURCE_EXHAUSTED (or keeps up) and resumes without loss, the page walk sees every old message exactly
once while new ones arrive, and the auditor is clean. Reported, never asserted: RSS per deployable at each step,
KiB per idle stream, and another client's p95 unloaded vs under this load.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf import field_mask_pb2

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from tests.reliability.auditor import Auditor
from tests.reliability.rel_client import Caller, Stubs, Tally, codec_of, new_tenant, stubs
from tests.reliability.rel_fleet import Fleet
from tests.reliability.rel_load import Ledger, Op, World, build_world, execute, send_op
from tests.reliability.rel_report import record
from tests.reliability.rel_resources import Probe, open_idle_streams, rss_mib
from tests.reliability.rel_streams import Follower, following

pytestmark = pytest.mark.reliability

IDLE_STREAMS = int(os.environ.get("AMEIDE_IDLE_STREAMS", "300"))
BIG_CHAT = int(os.environ.get("AMEIDE_BIG_CHAT_MESSAGES", "1000"))
LARGE_MESSAGES = 40
LARGE_PARTS = 16  # x 60 KiB: just under the 1 MiB message limit
OVERFLOW_MESSAGES = 300
MIB = 1024.0
# Caps on RSS growth (MiB): far above what the design needs, far below "unbounded".
MAX_KIB_PER_IDLE_STREAM = 256
MAX_GROWTH_MIB = 512


async def _send_all(ops: list[Op], clients: Stubs, ledger: Ledger, tally: Tally, concurrency: int) -> None:
    ledger.ops.extend(ops)
    queue = list(reversed(ops))

    async def worker() -> None:
        while queue:
            await execute(queue.pop(), clients, tally)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


@contextlib.asynccontextmanager
async def _peak_rss(fleet: Fleet, peaks: dict[str, float]) -> AsyncIterator[None]:
    """Sample RSS in the background; keep each instance's peak."""

    async def sample() -> None:
        while True:
            for name, value in rss_mib(fleet).items():
                peaks[name] = max(peaks.get(name, 0.0), value)
            await asyncio.sleep(0.2)

    task = asyncio.create_task(sample())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _fan_out_reaches_every_stream(
    calls: list[grpc.aio.UnaryStreamCall[Any, Any]], acked: dict[str, str], chat_of: list[str]
) -> list[str]:
    async def first_message(call: grpc.aio.UnaryStreamCall[Any, Any]) -> str:
        async with asyncio.timeout(60):
            while True:
                update: Any = await call.read()
                if update.WhichOneof("update") == "message":
                    return str(update.message.id)

    got = await asyncio.gather(*(first_message(call) for call in calls))
    return [f"stream {i} got {g}, expected {acked[chat_of[i]]}" for i, g in enumerate(got) if g != acked[chat_of[i]]]


@dataclasses.dataclass
class Scene:
    """Everything the phases of this scenario share."""

    fleet: Fleet
    clients: Stubs
    ledger: Ledger
    tally: Tally
    world: World
    probe: Probe
    figures: dict[str, Any]

    def parts(self) -> tuple[Fleet, Stubs, Ledger, Tally, World, Probe, dict[str, Any]]:
        """Everything, in field order (one line at the top of each phase)."""
        return self.fleet, self.clients, self.ledger, self.tally, self.world, self.probe, self.figures


async def _idle_streams(scene: Scene) -> tuple[list[Stubs], list[grpc.aio.UnaryStreamCall[Any, Any]], list[str]]:
    """Open the idle streams, measure them, and check that a message to each chat reaches every stream."""
    fleet, clients, ledger, tally, world, probe, figures = scene.parts()
    owner, peer = world.users
    idle_chats = world.chats[1:4]
    channels = [stubs(fleet) for _ in range(8)]
    calls = await open_idle_streams(channels, peer, idle_chats, IDLE_STREAMS)
    figures["rss idle streams"] = rss_mib(fleet)
    figures["KiB per idle stream"] = round(
        (figures["rss idle streams"]["query"] - figures["rss start"]["query"]) * 1024 / IDLE_STREAMS, 1
    )
    # Over several heartbeat periods: every idle stream's heartbeat re-checks access with a query.
    figures["p95 with idle streams ms"] = round(await probe.run(100, pause=0.05), 2)
    fan = [send_op(owner, chat_id, "fan-out") for chat_id in idle_chats]
    await _send_all(fan, clients, ledger, tally, 3)
    chat_of = [idle_chats[i % len(idle_chats)] for i in range(IDLE_STREAMS)]
    problems = await _fan_out_reaches_every_stream(calls, {op.chat_id: op.message_id for op in fan}, chat_of)
    return channels, calls, problems


async def _flood_past_a_slow_consumer(scene: Scene) -> Follower:
    """~1 MiB messages while one subscriber reads nothing; it then drains, and resumes from its token."""
    fleet, clients, ledger, tally, world, probe, figures = scene.parts()
    owner, peer = world.users
    slow = Follower(world.chats[4], peer, codec_of(fleet), tally)
    await slow.load(clients, world.tokens[world.chats[4]])
    stalled = clients.chat_reads.StreamChatUpdates(
        chat.StreamChatRequest(threads_id=slow.chat_id, resume_token=slow.token), metadata=peer.metadata
    )
    await stalled.read()  # SUBSCRIBED; then it reads nothing while the flood goes by
    flood = [send_op(owner, slow.chat_id, "x" * 60 * 1024, parts=LARGE_PARTS) for _ in range(LARGE_MESSAGES)]
    # Then more small updates than a subscriber's queue holds (AMEIDE_SUBSCRIBER_QUEUE_SIZE, 256).
    flood += [send_op(owner, slow.chat_id, f"small {i}") for i in range(OVERFLOW_MESSAGES)]
    peaks: dict[str, float] = {}
    async with _peak_rss(fleet, peaks):
        loaded = asyncio.create_task(probe.run(100, pause=0.01))
        await _send_all(flood, clients, ledger, tally, 8)
        figures["p95 during flood ms"] = round(await loaded, 2)
    figures["rss peak during flood"] = peaks
    figures["slow consumer ended"] = await _drain(stalled, slow, len(flood))
    figures["slow consumer had"] = slow.last_seq - slow.start_seq
    async with following([slow], clients):  # resumes from the last checkpoint it received
        await slow.wait_for(slow.start_seq + len(flood))
    return slow


async def test_idle_streams_slow_consumer_large_messages_and_a_big_page_walk(
    fleet: Fleet, clients: Stubs, auditor: Auditor
) -> None:
    """Bounded memory and correct delivery under many streams, a slow reader, big messages and a big chat."""
    tally, ledger = Tally(), Ledger()
    figures: dict[str, Any] = {}
    world = await build_world(clients, new_tenant(fleet, "rita", "sam"), ledger, tally, chats=6)
    owner = world.users[0]
    await _send_all([send_op(owner, world.chats[0], f"probe {i}") for i in range(50)], clients, ledger, tally, 8)
    probe = Probe(clients, owner, world.chats[0])
    await probe.run(20)
    figures["p95 unloaded ms"] = round(await probe.run(100), 2)
    figures["rss start"] = rss_mib(fleet)
    scene = Scene(fleet, clients, ledger, tally, world, probe, figures)
    started = time.monotonic()
    channels, calls, fan_out = await _idle_streams(scene)
    figures["s idle streams"], started = round(time.monotonic() - started, 1), time.monotonic()
    slow = await _flood_past_a_slow_consumer(scene)
    figures["s flood"], started = round(time.monotonic() - started, 1), time.monotonic()
    walked, added = await _page_walk(clients, ledger, tally, owner, world.chats[5])
    figures["s page walk"], started = round(time.monotonic() - started, 1), time.monotonic()
    figures["rss after big page walk"] = rss_mib(fleet)
    for call in calls:
        call.cancel()
    for channel_stubs in channels:
        await channel_stubs.close()
    verdict = await auditor.audit(ledger, followers=[slow])
    figures["s audit"] = round(time.monotonic() - started, 1)
    peaks = figures["rss peak during flood"]
    growth = {name: peaks.get(name, 0) - start for name, start in figures["rss start"].items()}
    record(
        "8 idle streams / slow consumer / 1 MiB flood / big page walk",
        load=f"{IDLE_STREAMS} idle streams, {LARGE_MESSAGES} x ~1 MiB messages (8 senders), {BIG_CHAT}-message walk",
        faults="slow consumer never reading",
        tally=tally,
        verdict=verdict,
        notes=f"{figures}",
    )
    print(f"\nresource figures: {figures}")  # noqa: T201 - the scenario reports what it measured
    assert verdict.ok, verdict.report()
    assert fan_out == []
    assert walked == {"duplicates": 0, "missing": 0}, walked
    assert added == 50
    assert figures["slow consumer ended"] in {"RESOURCE_EXHAUSTED", "caught up"}
    assert figures["KiB per idle stream"] < MAX_KIB_PER_IDLE_STREAM
    assert max(growth.values()) < MAX_GROWTH_MIB, growth
    assert probe.errors == []
    assert tally.wrong == []
    assert fleet.crashed() == {}


async def _drain(call: grpc.aio.UnaryStreamCall[Any, Any], follower: Follower, messages: int) -> str:
    """Read a stalled stream into ``follower`` until it ends or has delivered ``messages`` (bounded): how it ended."""
    got = 0
    try:
        async with asyncio.timeout(120):
            while got < messages:
                update: Any = await call.read()
                if update is grpc.aio.EOF:
                    return "OK"
                follower.take(update)
                got += update.WhichOneof("update") == "message"
    except grpc.aio.AioRpcError as error:
        return str(error.code().name)
    except TimeoutError:
        return f"stuck after {got} messages"
    finally:
        call.cancel()
    return "caught up"


async def _page_walk(
    clients: Stubs, ledger: Ledger, tally: Tally, owner: Caller, chat_id: str
) -> tuple[dict[str, int], int]:
    """Fill a chat, then walk its pages while a writer appends: every old message exactly once."""
    old = [send_op(owner, chat_id, f"old {i}") for i in range(BIG_CHAT)]
    await _send_all(old, clients, ledger, tally, 8)
    newest = old[-1].ack.consistency_token
    more = [send_op(owner, chat_id, f"new {i}") for i in range(50)]
    writer = asyncio.create_task(_send_all(more, clients, ledger, tally, 1))
    seen: list[str] = []
    token = ""
    while True:
        request = chat.GetMessagesRequest(threads_id=chat_id, page_size=200, page_token=token, consistency_token=newest)
        reply = await clients.chat_reads.GetMessages(request, metadata=owner.metadata, timeout=30)
        seen += [m.id for m in reply.messages]
        token = reply.next_page_token
        if not token:
            break
    await writer
    seen_count = collections.Counter(seen)
    counted = {op.message_id: seen_count[op.message_id] for op in old}
    return {
        "duplicates": sum(1 for n in counted.values() if n > 1),
        "missing": sum(1 for n in counted.values() if n == 0),
    }, sum(1 for op in more if op.ack is not None)


MAX_LABELS = {f"label-{i:02d}": "v" * 4096 for i in range(64)}


async def _walk(method: Any, request: Any, who: Caller, items: str) -> list[str]:
    """Every page of a list RPC (following next_page_token); the ids of its items, in order."""
    ids: list[str] = []
    while True:
        reply = await method(request, metadata=who.metadata, timeout=30)
        ids += [getattr(item, "id", "") or getattr(item, "event_id", "") for item in getattr(reply, items)]
        if not reply.next_page_token:
            return ids
        request.page_token = reply.next_page_token


async def test_pages_of_maximal_items_stay_under_the_grpc_limit(fleet: Fleet, clients: Stubs, auditor: Auditor) -> None:
    """Regression: pages of chats/artifacts with 64 x 4 KiB labels stay under 8 MiB (they were RESOURCE_EXHAUSTED).

    One user's wide TEAM chats made ListChats and SearchChats fail for every user of the tenant, and wide
    artifacts ListArtifacts and GetArtifactHistory; pages now end early with a next_page_token.
    """
    owner, peer = new_tenant(fleet, "uma", "vic")
    metadata = types.ChatMetadata(labels=MAX_LABELS, description="d" * 4096)
    chats = [
        await clients.chats.CreateChat(
            chat.CreateChatRequest(title=f"wide {i}", visibility=types.CHAT_VISIBILITY_TEAM, metadata=metadata),
            metadata=owner.metadata,
        )
        for i in range(40)
    ]
    made = [
        await clients.artifacts.CreateArtifact(
            art.CreateArtifactRequest(title=f"wide {i}", kind="doc", metadata=MAX_LABELS), metadata=owner.metadata
        )
        for i in range(40)
    ]
    history = made[0].artifact_id
    updated = None
    for i in range(30):
        labels = {**MAX_LABELS, "label-00": f"rev {i}"}
        updated = await clients.artifacts.UpdateArtifactMetadata(
            art.UpdateArtifactMetadataRequest(
                artifact_id=history,
                metadata=art_types.ArtifactMetadata(labels=labels),
                update_mask=field_mask_pb2.FieldMask(paths=["labels"]),
            ),
            metadata=owner.metadata,
        )
    await clients.chat_reads.ListChats(
        chat.ListChatsRequest(consistency_token=chats[-1].consistency_token), metadata=peer.metadata
    )
    await clients.artifact_reads.ListArtifacts(
        art.ListArtifactsRequest(consistency_token=made[-1].consistency_token), metadata=peer.metadata
    )
    assert updated is not None
    # The history's first page waits for the last revision, so the walk below sees all 30 (not the projector's pace).
    await clients.artifact_reads.GetArtifactHistory(
        art.GetArtifactHistoryRequest(artifact_id=history, page_size=1, consistency_token=updated.consistency_token),
        metadata=peer.metadata,
    )
    listed = await _walk(clients.chat_reads.ListChats, chat.ListChatsRequest(page_size=100), peer, "threads")
    searched = await _walk(
        clients.chat_reads.SearchChats, chat.SearchChatsRequest(query="wide", page_size=100), peer, "threads"
    )
    artifacts = await _walk(
        clients.artifact_reads.ListArtifacts, art.ListArtifactsRequest(page_size=100), peer, "artifacts"
    )
    entries = await _walk(
        clients.artifact_reads.GetArtifactHistory,
        art.GetArtifactHistoryRequest(artifact_id=history, page_size=100),
        peer,
        "entries",
    )
    verdict = await auditor.audit(Ledger())
    assert sorted(listed) == sorted(c.threads.id for c in chats)
    assert sorted(searched) == sorted(c.threads.id for c in chats)
    assert sorted(artifacts) == sorted(a.artifact_id for a in made)
    assert len(entries) == len(set(entries)) >= 31
    assert verdict.ok, verdict.report()
