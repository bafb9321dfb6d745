"""Bounded mixed load: keyed writers that retry with their idempotency keys, readers, and the ledger of answers.

Every write carries an idempotency key and is retried with the *same* key and request after a retryable failure
(UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED) until it is acknowledged or its budget ends. The ``Ledger`` keeps what
each client was finally told; the auditor checks the event log and the read model against it. Loops are bounded
by operation counts, never by time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import grpc.aio
from google.protobuf.message import Message

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from tests.reliability.rel_client import RETRYABLE, Caller, Code, Stubs, Tally, text_message

TEAM = types.CHAT_VISIBILITY_TEAM
WRITE_DEADLINE = 10.0
READ_DEADLINE = 10.0
GIVE_UP_SECONDS = 120.0
RECENT = 500


WRITE_KINDS = frozenset({"ensure_new", "ensure_existing", "send", "create_chat", "create_artifact"})


@dataclasses.dataclass
class Op:
    """One logical write and what its client was finally told."""

    kind: str  # ensure_new | ensure_existing | send | create_chat | create_artifact
    caller: Caller
    key: str
    request: Message
    ack: Any = None
    attempts: int = 0
    replays: int = 0
    # The final, non-retryable refusal (e.g. NOT_FOUND after a delete): such a write must have no effect at all.
    rejected: Code | None = None

    @property
    def message_id(self) -> str:
        """The id of the acknowledged message (sends and ensures)."""
        if self.kind == "send":
            return str(self.ack.message.id)
        return str(self.ack.persisted_message.id)

    @property
    def chat_id(self) -> str:
        """The chat the acknowledged write went to (or created)."""
        if self.kind == "send":
            return str(self.ack.message.threads_id)
        if self.kind == "create_chat":
            return str(self.ack.threads.id)
        return str(self.ack.threads_id)

    @property
    def carries_message(self) -> bool:
        """Whether the write stored a message."""
        return self.kind in {"ensure_new", "ensure_existing", "send"}


@dataclasses.dataclass
class Ledger:
    """Every logical write of a scenario."""

    ops: list[Op] = dataclasses.field(default_factory=list)

    def acked(self) -> list[Op]:
        """Writes a client saw acknowledged."""
        return [op for op in self.ops if op.ack is not None]

    def unresolved(self) -> list[Op]:
        """Writes that never got an answer that settles them (neither acknowledged nor refused)."""
        return [op for op in self.ops if op.ack is None and op.rejected is None]

    def extend(self, other: Ledger) -> None:
        """Take another ledger's writes."""
        self.ops.extend(other.ops)


def _method(stubs: Stubs, kind: str) -> Callable[..., Any]:
    if kind in {"ensure_new", "ensure_existing"}:
        return stubs.chats.EnsureChatForArtifactAndSendMessage
    if kind == "send":
        return stubs.chats.SendMessage
    if kind == "create_chat":
        return stubs.chats.CreateChat
    return stubs.artifacts.CreateArtifact


async def execute(
    op: Op,
    stubs: Stubs,
    tally: Tally,
    *,
    allowed: Iterable[Code] = RETRYABLE,
    deadline: float = WRITE_DEADLINE,
    give_up: float = GIVE_UP_SECONDS,
) -> None:
    """Send ``op`` until it is acknowledged, retrying retryable failures with the same key and request."""
    allowed = frozenset(allowed)
    started = time.monotonic()
    pause = 0.05
    method = _method(stubs, op.kind)
    while True:
        op.attempts += 1
        try:
            call = method(op.request, metadata=op.caller.metadata, timeout=deadline)
            ack = await call
            trailers = await call.trailing_metadata()
        except grpc.aio.AioRpcError as error:
            tally.failed(op.kind, error, allowed)
            if error.code() not in RETRYABLE:
                op.rejected = error.code()
                return
            if time.monotonic() - started > give_up:
                return
        else:
            op.ack = ack
            op.replays += any(k == "idempotent-replayed" and v == "true" for k, v in trailers or ())
            tally.ok()
            return
        await asyncio.sleep(pause * (0.5 + random.random()))  # noqa: S311 - jitter, not cryptography
        pause = min(pause * 2, 0.5)


@dataclasses.dataclass
class World:
    """A tenant's users, artifacts and shared TEAM chats that the load writes to."""

    users: list[Caller]
    artifacts: list[str]
    chats: list[str]
    # The consistency token of each chat's creation (so a first read waits for it instead of NOT_FOUND).
    tokens: dict[str, str] = dataclasses.field(default_factory=dict)


def _key() -> str:
    return f"k-{uuid.uuid4()}"


def ensure_op(user: Caller, artifact_id: str, chat_id: str, text: str) -> Op:
    """An Ensure (into ``chat_id``, or creating a chat when it is empty)."""
    request = chat.EnsureChatForArtifactAndSendMessageRequest(
        artifact_id=artifact_id, threads_id=chat_id, message=text_message(text), idempotency_key=_key(), visibility=TEAM
    )
    return Op("ensure_existing" if chat_id else "ensure_new", user, request.idempotency_key, request)


def send_op(user: Caller, chat_id: str, text: str, parts: int = 1) -> Op:
    """A SendMessage with a key."""
    request = chat.SendMessageRequest(
        threads_id=chat_id, message=text_message(text, parts=parts), idempotency_key=_key()
    )
    return Op("send", user, request.idempotency_key, request)


def create_chat_op(
    user: Caller, title: str, artifact_id: str = "", visibility: types.ChatVisibility.ValueType = TEAM
) -> Op:
    """A CreateChat with a key."""
    request = chat.CreateChatRequest(
        title=title, visibility=visibility, artifact_id=artifact_id, idempotency_key=_key()
    )
    return Op("create_chat", user, request.idempotency_key, request)


def create_artifact_op(user: Caller, title: str, kind: str = "bpmn") -> Op:
    """A CreateArtifact with a key and a small body."""
    request = art.CreateArtifactRequest(
        title=title,
        kind=kind,
        idempotency_key=_key(),
        content=artifacts_types_pb2.ArtifactContent(mime_type="application/xml", body=b"<bpmn/>"),
    )
    return Op("create_artifact", user, request.idempotency_key, request)


async def build_world(stubs: Stubs, users: list[Caller], ledger: Ledger, tally: Tally, *, chats: int = 3) -> World:
    """Two artifacts and ``chats`` TEAM chats (each opened by an Ensure), all acknowledged."""
    owner = users[0]
    artifacts = []
    for index in range(2):
        op = create_artifact_op(owner, f"Process {index}")
        ledger.ops.append(op)
        await execute(op, stubs, tally)
        artifacts.append(str(op.ack.artifact_id))
    world = World(users, artifacts, [])
    for index in range(chats):
        op = ensure_op(owner, artifacts[index % 2], "", f"opening {index}")
        ledger.ops.append(op)
        await execute(op, stubs, tally)
        world.chats.append(op.chat_id)
        world.tokens[op.chat_id] = op.ack.consistency_token
    return world


def random_op(world: World, rng: random.Random, label: str) -> Op:
    """A seeded mix: mostly sends to the shared chats, some Ensures (new and existing chats), a few CreateChats."""
    user = rng.choice(world.users)
    roll = rng.random()
    if roll < 0.55:
        return send_op(user, rng.choice(world.chats), f"{label} says hello")
    if roll < 0.8:
        return ensure_op(user, rng.choice(world.artifacts), rng.choice(world.chats), f"{label} about the diagram")
    if roll < 0.95:
        return ensure_op(user, rng.choice(world.artifacts), "", f"{label} opens a discussion")
    return create_chat_op(user, f"{label} chat")


async def writer(
    world: World,
    stubs: Stubs,
    ledger: Ledger,
    tally: Tally,
    *,
    ops: int,
    seed: int,
    progress: Callable[[], None] | None = None,
    allowed: Iterable[Code] = RETRYABLE,
    until: asyncio.Event | None = None,
    max_ops: int = 5000,
    deadline: float = WRITE_DEADLINE,
) -> None:
    """``ops`` seeded writes, one after another, each retried until acknowledged.

    With ``until``, the writer goes on after ``ops`` until the event is set (never beyond ``max_ops``).
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible load, not cryptography
    index = 0
    while index < max_ops and (index < ops or (until is not None and not until.is_set())):
        index += 1
        op = random_op(world, rng, f"w{seed}-{index}")
        ledger.ops.append(op)
        await execute(op, stubs, tally, allowed=allowed, deadline=deadline)
        if progress is not None:
            progress()


async def reader(
    ledger: Ledger,
    stubs: Stubs,
    tally: Tally,
    done: asyncio.Event,
    *,
    seed: int,
    allowed: Iterable[Code] = RETRYABLE,
    violations: list[str],
) -> None:
    """Until ``done``: read back acknowledged writes with their consistency tokens (read-your-writes)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible choice of what to read
    allowed = frozenset(allowed)
    while not done.is_set():
        # Only recent writes: scanning the whole ledger would make a long run's client slower and slower.
        acked = [op for op in ledger.ops[-RECENT:] if op.ack is not None and op.carries_message]
        if not acked:
            await asyncio.sleep(0.05)
            continue
        op = rng.choice(acked)
        message = op.ack.message if op.kind == "send" else op.ack.persisted_message
        request = chat.GetMessagesRequest(
            threads_id=op.chat_id, newest_first=True, page_size=1, consistency_token=op.ack.consistency_token
        )
        try:
            reply = await stubs.chat_reads.GetMessages(request, metadata=op.caller.metadata, timeout=READ_DEADLINE)
            tally.ok()
            if reply.total_count < message.sequence:
                violations.append(f"read-your-writes: {op.chat_id} shows {reply.total_count} < {message.sequence}")
        except grpc.aio.AioRpcError as error:
            tally.failed("GetMessages", error, allowed)
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.05)


async def caught_up(ledger: Ledger, stubs: Stubs, *, within: float = 120.0) -> list[str]:
    """The newest acknowledged message is readable with its consistency token (the projector keeps up).

    Works while writes go on (unlike waiting for an empty outbox); retries NOT_YET_CONSISTENT, bounded.
    """
    newest = next((op for op in reversed(ledger.ops) if op.ack is not None and op.carries_message), None)
    if newest is None:
        return []
    request = chat.GetMessagesRequest(
        threads_id=newest.chat_id, page_size=1, consistency_token=newest.ack.consistency_token
    )
    started = time.monotonic()
    while True:
        try:
            await stubs.chat_reads.GetMessages(request, metadata=newest.caller.metadata, timeout=READ_DEADLINE)
        except grpc.aio.AioRpcError as error:
            if error.code() != Code.UNAVAILABLE or time.monotonic() - started > within:
                return [f"write {newest.key} not projected: {error.code().name} {error.details()}"]
        else:
            return []
