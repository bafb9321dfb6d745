"""Load aggregates from their stream heads: one query for every stream a command touches, no history replay.

A stream whose snapshot is missing or of another format (written by an older version, or imported) is rebuilt
from its events once; the next append stores a fresh snapshot.
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
                chats[chat_id] = await self._state(head, snapshot.load_chat, chat.evolve)
        for artifact_id in filter(None, artifact_ids):
            head = heads.get(uuid.UUID(artifact_id))
            if head is not None and head.stream_type == ARTIFACT_STREAM:
                artifacts[artifact_id] = await self._state(head, snapshot.load_artifact, artifact.evolve)
        return Aggregates(chats, artifacts)

    async def _state(
        self,
        head: StreamState,
        load: Callable[[bytes], S | None],
        evolve: Callable[[S | None, Happened], S],
    ) -> S:
        state = load(head.snapshot) if head.snapshot else None
        if state is None:
            state = replay(await self._store.read_stream(head.stream_id), evolve)
        # The head's version is authoritative: a snapshot is only a cache of the decision state.
        return dataclasses.replace(state, version=head.version)


def replay(recorded: Sequence[RecordedEvent], evolve: Callable[[S | None, Happened], S]) -> S:
    """Fold a stream's events into its decision state (types this version does not know are skipped)."""
    state: S | None = None
    for event in recorded:
        payload = events.decode(event.event_type, event.payload)
        if payload is None:
            continue
        state = evolve(state, Happened(payload, _occurred_at(event), event.metadata.get("user_id", "")))
    if state is None:
        raise ValueError("stream has no creation event")
    return state


def _occurred_at(event: RecordedEvent) -> dt.datetime:
    raw = event.metadata.get("occurred_at")
    if raw:
        try:
            return dt.datetime.fromisoformat(raw)
        except ValueError:
            pass
    return event.recorded_at
