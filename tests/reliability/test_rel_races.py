"""Scenario 5: races on one chat, one key, one link, and projector shards moving between workers under load."""

from __future__ import annotations

import asyncio
import collections
import functools
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
import pytest
import sqlalchemy as sa
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from tests.reliability.auditor import Auditor
from tests.reliability.rel_chaos import Progress, mixed_load
from tests.reliability.rel_client import RETRYABLE, Caller, Code, Stubs, Tally, new_tenant
from tests.reliability.rel_fleet import Fleet
from tests.reliability.rel_load import Ledger, Op, build_world, ensure_op, execute, send_op
from tests.reliability.rel_logcheck import DISSOCIATED, LINKED, UNLINKED
from tests.reliability.rel_report import record

pytestmark = pytest.mark.reliability

SEED = 5505
_PAIR_EVENTS = sa.text(
    "SELECT stream_type, event_type FROM es_events WHERE stream_id = ANY(:ids) AND event_type = ANY(:types) "
    "ORDER BY global_position"
)
_LINK_ROW = sa.text("SELECT count(*) FROM rm_chat_artifacts WHERE chat_id = :chat AND artifact_id = :artifact")
_CHAT_EVENTS = sa.text("SELECT version, event_type FROM es_events WHERE stream_id = :id ORDER BY version")


async def attempt(
    method: Callable[..., Awaitable[Any]], request: Message, who: Caller, tally: Tally, allowed: set[Code]
) -> tuple[Code, Any]:
    """Call until the answer is not ABORTED/UNAVAILABLE (bounded); the final code and reply."""
    for _ in range(20):
        try:
            reply = await method(request, metadata=who.metadata, timeout=20)
        except grpc.aio.AioRpcError as error:
            tally.failed(type(request).__name__, error, allowed | RETRYABLE)
            if error.code() not in RETRYABLE:
                return error.code(), None
        else:
            tally.ok()
            return Code.OK, reply
        await asyncio.sleep(0.02)
    return Code.ABORTED, None


async def test_hundred_concurrent_ensures_over_ten_keys_and_three_chats(
    fleet: Fleet, clients: Stubs, auditor: Auditor
) -> None:
    """100 concurrent Ensures, 10 keys x 10 identical calls (3 existing chats + new): one effect per key."""
    tally, ledger = Tally(), Ledger()
    owner, peer = new_tenant(fleet, "jo", "kim")
    world = await build_world(clients, [owner, peer], ledger, tally)
    templates = [
        ensure_op(owner if i % 2 else peer, world.artifacts[0], ([*world.chats, ""])[i % 4], f"race {i}")
        for i in range(10)
    ]
    calls = [Op(t.kind, t.caller, t.key, t.request) for t in templates for _ in range(10)]
    random.Random(SEED).shuffle(calls)  # noqa: S311 - a reproducible order, not cryptography
    await asyncio.gather(*(execute(op, clients, tally) for op in calls))
    ledger.ops.extend(calls)
    verdict = await auditor.audit(ledger)
    answers = collections.defaultdict(set)
    for op in calls:
        answers[op.key].add(op.ack.SerializeToString(deterministic=True) if op.ack else b"")
    record(
        "5a 100 concurrent Ensures / 10 keys / 3 chats",
        load="100 concurrent EnsureChatForArtifactAndSendMessage",
        faults="-",
        tally=tally,
        verdict=verdict,
        notes=f"codes {dict(tally.codes)}",
    )
    assert verdict.ok, verdict.report()
    assert {key: len(found) for key, found in answers.items()} == {t.key: 1 for t in templates}
    assert sum(op.ack.threads_created for op in calls) == 10 * sum(1 for t in templates if t.kind == "ensure_new")
    assert tally.wrong == []


async def test_rename_delete_and_send_race_on_one_chat(
    fleet: Fleet, clients: Stubs, auditor: Auditor, rel_engine: AsyncEngine
) -> None:
    """Renames, sends and a delete at once: nothing lands after the delete, every acknowledged change before it."""
    tally, ledger = Tally(), Ledger()
    owner, peer = new_tenant(fleet, "lea", "max")
    world = await build_world(clients, [owner, peer], ledger, tally, chats=1)
    target = world.chats[0]
    sends = [send_op(owner if i % 2 else peer, target, f"racing {i}") for i in range(15)]
    ledger.ops.extend(sends)
    renamed: list[Code] = []
    settled = Progress()

    async def renamer(worker: int) -> None:
        for i in range(3):
            request = chat.UpdateChatTitleRequest(threads_id=target, title=f"title {worker}.{i}")
            code, _ = await attempt(clients.chats.UpdateChatTitle, request, owner, tally, {Code.NOT_FOUND})
            renamed.append(code)
            settled.tick()

    async def sender(batch: list[Op]) -> None:
        for op in batch:
            await execute(op, clients, tally, allowed={Code.NOT_FOUND})
            settled.tick()

    async def deleter() -> None:
        await settled.reach(6)  # fire while most renames and sends are still to come
        code, _ = await attempt(
            clients.chats.DeleteChat, chat.DeleteChatRequest(threads_id=target), owner, tally, set()
        )
        renamed.append(code)

    await asyncio.gather(*(renamer(w) for w in range(5)), *(sender(sends[i::5]) for i in range(5)), deleter())
    async with rel_engine.connect() as conn:
        rows = await conn.execute(_CHAT_EVENTS, {"id": uuid.UUID(target)})
        history = [row.event_type.rsplit(".", 1)[-1] for row in rows]
    verdict = await auditor.audit(ledger)
    record(
        "5b rename vs delete vs send on one chat",
        load="5 renamers x 3 + 5 senders x 3 keyed sends + 1 delete, concurrent",
        faults="-",
        tally=tally,
        verdict=verdict,
        notes=f"history {dict(collections.Counter(history))}; codes {dict(tally.codes)}",
    )
    assert verdict.ok, verdict.report()
    assert history[-1] == "ChatDeletedEvent"
    assert history.count("ChatUpdatedEvent") == renamed.count(Code.OK) - 1  # the delete's OK is in `renamed` too
    assert history.count("MessageSentEvent") == 1 + sum(op.ack is not None for op in sends)
    assert all(op.ack is not None or op.rejected == Code.NOT_FOUND for op in sends)
    assert tally.wrong == []


async def test_associate_dissociate_storm_on_one_pair(
    fleet: Fleet, clients: Stubs, auditor: Auditor, rel_engine: AsyncEngine
) -> None:
    """Links and unlinks of one chat/artifact pair from both sides at once: both histories and every view agree."""
    tally, ledger = Tally(), Ledger()
    owner, peer = new_tenant(fleet, "ned", "ola")
    world = await build_world(clients, [owner, peer], ledger, tally, chats=1)
    chat_id, artifact_id = world.chats[0], world.artifacts[1]
    rng = random.Random(SEED)  # noqa: S311 - a reproducible storm, not cryptography
    jobs: list[Awaitable[tuple[Code, Any]]] = []
    for i in range(36):
        who = rng.choice([owner, peer])
        kind = i % 3
        if kind == 0:
            request: Message = chat.AssociateChatArtifactRequest(
                threads_id=chat_id, artifact_id=artifact_id, relation_type=types.RELATION_TYPE_REFERENCED
            )
            jobs.append(attempt(clients.chats.AssociateArtifact, request, who, tally, set()))
        elif kind == 1:
            request = art.AssociateArtifactChatRequest(artifact_id=artifact_id, threads_id=chat_id)
            jobs.append(attempt(clients.artifacts.AssociateChat, request, who, tally, set()))
        else:
            request = art.DissociateArtifactChatRequest(artifact_id=artifact_id, threads_id=chat_id)
            jobs.append(attempt(clients.artifacts.DissociateChat, request, who, tally, {Code.NOT_FOUND}))
    rng.shuffle(jobs)
    await asyncio.gather(*jobs)
    verdict = await auditor.audit(ledger)
    ids = [uuid.UUID(chat_id), uuid.UUID(artifact_id)]
    async with rel_engine.connect() as conn:
        events = (await conn.execute(_PAIR_EVENTS, {"ids": ids, "types": [LINKED, UNLINKED, DISSOCIATED]})).fetchall()
        row_exists = (await conn.execute(_LINK_ROW, {"chat": ids[0], "artifact": ids[1]})).scalar_one() == 1
    artifact_side = [e.event_type for e in events if e.stream_type == "artifact"]
    linked = bool(artifact_side) and artifact_side[-1] == LINKED
    chats_of_artifact = await clients.artifact_reads.GetArtifactChats(
        art.GetArtifactChatsRequest(artifact_id=artifact_id), metadata=owner.metadata, timeout=10
    )
    artifacts_of_chat = await clients.chat_reads.GetChatArtifacts(
        chat.GetChatArtifactsRequest(threads_id=chat_id), metadata=owner.metadata, timeout=10
    )
    record(
        "5c associate/dissociate storm on one pair",
        load="36 concurrent associate (both sides) / dissociate",
        faults="-",
        tally=tally,
        verdict=verdict,
        notes=f"{len(artifact_side)} link changes; codes {dict(tally.codes)}",
    )
    assert verdict.ok, verdict.report()
    assert linked == row_exists
    assert (chat_id in [c.threads_id for c in chats_of_artifact.threads]) == linked
    assert (artifact_id in [a.artifact_id for a in artifacts_of_chat.artifacts]) == linked
    assert tally.wrong == []


async def test_projector_shards_move_between_workers_under_load(fleet: Fleet, clients: Stubs, auditor: Auditor) -> None:
    """A third worker joins, another leaves gracefully, one is killed: shards move, nothing applied twice."""
    tally, ledger = Tally(), Ledger()
    violations: list[str] = []
    log: list[str] = []
    users = new_tenant(fleet, "pia", "quin")
    world = await build_world(clients, users, ledger, tally)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("projector-3 joins", functools.partial(fleet.start, "projector-3")),
        ("projector-2 leaves (SIGTERM)", functools.partial(fleet.terminate, "projector-2")),
        ("projector-3 killed (-9)", functools.partial(fleet.kill, "projector-3")),
        ("projector-2 rejoins", functools.partial(fleet.start, "projector-2")),
    ]

    async def chaos(progress: Progress) -> None:
        try:
            for label, step in steps:
                await progress.reach(progress.acked + 12)
                log.append(f"{label} at write {progress.acked}")
                await asyncio.to_thread(step)
            await progress.reach(progress.acked + 12)
        finally:
            progress.finished.set()

    try:
        await mixed_load(
            world, clients, ledger, tally, writers=3, ops=12, seed=SEED, during=chaos, violations=violations
        )
        verdict = await auditor.audit(ledger)
    finally:
        fleet.forget("projector-3")
    record(
        "5d projector shards moving under load",
        load="3 writers x >=12 keyed writes, 2 readers",
        faults="; ".join(log),
        tally=tally,
        verdict=verdict,
    )
    assert verdict.ok, verdict.report()
    assert tally.wrong == []
    assert violations == []
    assert fleet.crashed() == {}
