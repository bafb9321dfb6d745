"""Stream decision state through the command side's own rules (``ameide_command.domain``): evolve and snapshots.

The importer never re-implements how a chat or an artifact evolves: it folds the events it appends with the
domain's ``evolve`` and stores the domain's snapshot, so commands on imported chats and artifacts load exactly
the state the command side would have computed itself.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import TypeAlias

from google.protobuf.message import Message

from ameide_cli.legacy.plan import StreamType
from ameide_command.domain import artifact, chat, events, snapshot
from ameide_command.domain.model import ArtifactState, ChatState, Happened, Relation
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2
from ameide_eventstore import EventStore, RecordedEvent, StreamState

State: TypeAlias = ChatState | ArtifactState | None
PAGE = 1000


def evolve(stream_type: StreamType, state: State, payload: Message, at: dt.datetime, user_id: str) -> State:
    """The state after one event."""
    happened = Happened(payload=payload, at=at, user_id=user_id)
    if stream_type == "chat":
        assert state is None or isinstance(state, ChatState)  # noqa: S101 - stream types never mix
        return chat.evolve(state, happened)
    assert state is None or isinstance(state, ArtifactState)  # noqa: S101 - stream types never mix
    return artifact.evolve(state, happened)


def dump(state: State) -> bytes | None:
    """The snapshot stored on the stream row."""
    if isinstance(state, ChatState):
        return snapshot.dump_chat(state)
    if isinstance(state, ArtifactState):
        return snapshot.dump_artifact(state)
    return None


def _load(stream_type: StreamType, raw: bytes | None) -> State:
    if raw is None:
        return None
    return snapshot.load_chat(raw) if stream_type == "chat" else snapshot.load_artifact(raw)


def occurred_at(event: RecordedEvent) -> dt.datetime:
    """When a stored event happened (metadata ``occurred_at``, else when it was recorded)."""
    text = event.metadata.get("occurred_at", "")
    try:
        at = dt.datetime.fromisoformat(text) if text else event.recorded_at
    except ValueError:
        at = event.recorded_at
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


async def read_all(store: EventStore, stream_id: uuid.UUID) -> list[RecordedEvent]:
    """Every event of a stream, oldest first, read in pages."""
    recorded: list[RecordedEvent] = []
    while page := await store.read_stream(stream_id, from_version=len(recorded) + 1, limit=PAGE):
        recorded.extend(page)
    return recorded


async def current(store: EventStore, head: StreamState) -> State:
    """A stored stream's state: its snapshot, or (snapshot missing or of another format) a replay of its events."""
    stream_type: StreamType = "chat" if head.stream_type == "chat" else "artifact"
    state = _load(stream_type, head.snapshot)
    if state is not None and state.version == head.version:
        return state
    state = None
    for event in await read_all(store, head.stream_id):
        payload = events.decode(event.event_type, event.payload)
        if payload is not None:
            state = evolve(stream_type, state, payload, occurred_at(event), event.metadata.get("user_id", ""))
    return state


def links_of(payloads: Iterable[Message | None]) -> dict[str, Relation]:
    """The chats an artifact is linked to, with their relations, after its stream's decoded events (oldest first)."""
    links: dict[str, Relation] = {}
    for payload in payloads:
        if isinstance(payload, artifacts_events_pb2.ArtifactChatLinkedEvent):
            links[payload.threads_id] = payload.relation_type
        elif isinstance(payload, artifacts_events_pb2.ArtifactChatUnlinkedEvent):
            links.pop(payload.threads_id, None)
    return links


async def linked_chats(store: EventStore, stream_id: uuid.UUID) -> set[str]:
    """The chats a stored artifact is linked to, from its history (its decision state does not keep them)."""
    recorded = await read_all(store, stream_id)
    return set(links_of(events.decode(event.event_type, event.payload) for event in recorded))
