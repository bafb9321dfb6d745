"""Load aggregates from their stream heads: one query for every stream a command touches, no history replay.

A stream whose snapshot is missing, of another format (written by an older version) or of another version than
its head (appended without one) is rebuilt from its events; the next append stores a fresh snapshot. The legacy
importer loads the streams it appends to with the same ``load_stream``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ameide_command.application.recording import ARTIFACT_STREAM, CHAT_STREAM
from ameide_command.domain import artifact, chat, events, snapshot
from ameide_command.domain.model import ArtifactState, ChatState, Happened
from ameide_eventstore import EventStore, RecordedEvent, StreamState

S = TypeVar("S", ChatState, ArtifactState)
# Events read per round trip when a stream is replayed (a chat may hold many thousands).
PAGE = 1000


@dataclass(frozen=True, slots=True)
class Aggregates:
    """The loaded chats and artifacts of one decision, by id; absent ids do not exist (for that stream type)."""

    chats: Mapping[str, ChatState]
    artifacts: Mapping[str, ArtifactState]

    def chat(self, chat_id: str) -> ChatState | None:
        """The chat, or ``None`` when there is no chat stream with that id."""
        return self.chats.get(chat_id)

    def artifact(self, artifact_id: str) -> ArtifactState | None:
        """The artifact, or ``None`` when there is no artifact stream with that id."""
        return self.artifacts.get(artifact_id)


class Loader:
    """Reads aggregates through ``EventStore.load_states``."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def load(self, chat_ids: Sequence[str], artifact_ids: Sequence[str]) -> Aggregates:
        """Load the named chats and artifacts in one round trip (plus a replay for a stream lacking a snapshot)."""
        wanted = {uuid.UUID(i) for i in (*chat_ids, *artifact_ids) if i}
        heads = await self._store.load_states(list(wanted)) if wanted else {}
        chats: dict[str, ChatState] = {}
        artifacts: dict[str, ArtifactState] = {}
        for chat_id in filter(None, chat_ids):
            head = heads.get(uuid.UUID(chat_id))
            if head is not None and head.stream_type == CHAT_STREAM:
                chats[chat_id] = await _load(self._store, head, snapshot.load_chat, chat.evolve)
        for artifact_id in filter(None, artifact_ids):
            head = heads.get(uuid.UUID(artifact_id))
            if head is not None and head.stream_type == ARTIFACT_STREAM:
                artifacts[artifact_id] = await _load(self._store, head, snapshot.load_artifact, artifact.evolve)
        return Aggregates(chats, artifacts)


async def load_stream(store: EventStore, head: StreamState) -> ChatState | ArtifactState:
    """The decision state of a stored chat or artifact stream (its snapshot, else a replay of its events)."""
    if head.stream_type == CHAT_STREAM:
        return await _load(store, head, snapshot.load_chat, chat.evolve)
    return await _load(store, head, snapshot.load_artifact, artifact.evolve)


async def _load(
    store: EventStore,
    head: StreamState,
    load: Callable[[bytes], S | None],
    evolve: Callable[[S | None, Happened], S],
) -> S:
    state = load(head.snapshot) if head.snapshot else None
    if state is None or state.version != head.version:
        state = replay(await read_stream(store, head.stream_id), evolve)
    # The head's version is authoritative: a snapshot is only a cache of the decision state.
    return dataclasses.replace(state, version=head.version)


async def read_stream(store: EventStore, stream_id: uuid.UUID) -> list[RecordedEvent]:
    """Every event of a stream, oldest first, read in pages of ``PAGE``."""
    recorded: list[RecordedEvent] = []
    while page := await store.read_stream(stream_id, from_version=len(recorded) + 1, limit=PAGE):
        recorded.extend(page)
    return recorded


def replay(recorded: Sequence[RecordedEvent], evolve: Callable[[S | None, Happened], S]) -> S:
    """Fold a stream's events into its decision state (types this version does not know are skipped)."""
    state: S | None = None
    for event in recorded:
        payload = events.decode(event.event_type, event.payload)
        if payload is None:
            continue
        state = evolve(state, Happened(payload, occurred_at(event), event.metadata.get("user_id", "")))
    if state is None:
        raise ValueError("stream has no creation event")
    return state


def occurred_at(event: RecordedEvent) -> dt.datetime:
    """When a stored event happened: its metadata's ``occurred_at``, else when it was recorded (always aware)."""
    raw = event.metadata.get("occurred_at", "")
    try:
        at = dt.datetime.fromisoformat(raw) if raw else event.recorded_at
    except ValueError:
        at = event.recorded_at
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
