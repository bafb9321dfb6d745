"""Verification straight from the event store (no query service given): the streams, folded by the domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from google.protobuf.message import Message

from ameide_cli.legacy.artifact_links import links_of
from ameide_cli.legacy.views import Annotation, Version
from ameide_command.application.loading import occurred_at, read_stream
from ameide_command.application.recording import evolve
from ameide_command.domain import events
from ameide_command.domain.model import ArtifactState, ChatState
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_events
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_events
from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2
from ameide_eventstore import EventStore, RecordedEvent


class StoreView:
    """The event store as a verification view (what the query side will show once projected)."""

    through = "the event store (no --query-target given)"

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._cached: tuple[uuid.UUID, list[RecordedEvent]] | None = None

    async def close(self) -> None:
        """Nothing to release."""

    async def _events(self, stream_id: uuid.UUID) -> list[RecordedEvent]:
        if self._cached is None or self._cached[0] != stream_id:
            self._cached = (stream_id, await read_stream(self._store, stream_id))
        return self._cached[1]

    async def _payloads(self, stream_id: uuid.UUID) -> list[tuple[RecordedEvent, Message]]:
        decoded = [(event, events.decode(event.event_type, event.payload)) for event in await self._events(stream_id)]
        return [(event, payload) for event, payload in decoded if payload is not None]

    async def _fold(self, stream_id: uuid.UUID) -> ChatState | ArtifactState | None:
        """Every stored event folded by the command side's rules (no snapshot: the importer's own view)."""
        recorded = await self._events(stream_id)
        if not recorded:
            return None
        current: ChatState | ArtifactState | None = None
        stream_type = recorded[0].stream_type
        for event, payload in await self._payloads(stream_id):
            current = evolve(stream_type, current, payload, occurred_at(event), event.metadata.get("user_id", ""))
        return current

    async def chat(self, chat_id: uuid.UUID, owner: str) -> types_pb2.Chat | None:
        """The folded chat."""
        del owner
        folded = await self._fold(chat_id)
        if not isinstance(folded, ChatState):
            return None
        chat = types_pb2.Chat(
            id=folded.chat_id,
            title=folded.title,
            user_id=folded.owner_id,
            visibility=folded.visibility,
            tenant_id=folded.tenant_id,
            message_count=folded.message_count,
            version=folded.version,
        )
        chat.created_at.FromDatetime(folded.created_at)
        return chat

    async def messages(self, chat_id: uuid.UUID, owner: str) -> Sequence[types_pb2.ChatMessage]:
        """The stored messages."""
        del owner
        return [
            payload.message
            for _, payload in await self._payloads(chat_id)
            if isinstance(payload, chat_events.MessageSentEvent)
        ]

    async def artifact(self, artifact_id: uuid.UUID, owner: str) -> art_types.ArtifactView | None:
        """The folded artifact with its links."""
        del owner
        folded = await self._fold(artifact_id)
        if not isinstance(folded, ArtifactState):
            return None
        view = art_types.ArtifactView(
            id=folded.artifact_id,
            title=folded.title,
            kind=folded.kind,
            user_id=folded.owner_id,
            version=folded.content_version,
            primary_threads_id=folded.primary_chat_id,
            tenant_id=folded.tenant_id,
        )
        # The artifact's decision state does not keep its chats: its link events tell.
        relations = links_of(payload for _, payload in await self._payloads(artifact_id))
        view.threads_ids.extend(relations)
        for chat_id, relation in relations.items():
            view.threads_refs.add(threads_id=chat_id, relation_type=relation)
        return view

    async def versions(self, artifact_id: uuid.UUID, owner: str) -> Sequence[Version]:
        """Creation, then every content update, with the title and kind at that point."""
        del owner
        found: list[Version] = []
        title, kind = "", ""
        for _, payload in await self._payloads(artifact_id):
            if isinstance(payload, art_events.ArtifactCreatedEvent):
                title, kind = payload.title, payload.kind
                found.append(Version(title, kind, payload.content))
            elif isinstance(payload, art_events.ArtifactMetadataUpdatedEvent):
                title = payload.title
            elif isinstance(payload, art_events.ArtifactContentUpdatedEvent):
                found.append(Version(title, kind, payload.content))
        return found

    async def annotations(self, artifact_id: uuid.UUID, owner: str) -> Sequence[Annotation]:
        """The annotation events."""
        del owner
        return [
            Annotation(payload.annotation_type, dict(payload.data))
            for _, payload in await self._payloads(artifact_id)
            if isinstance(payload, art_events.ArtifactAnnotatedEvent)
        ]
