"""The chats a stored artifact is linked to, from its history: its decision state does not keep them (D37)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from google.protobuf.message import Message

from ameide_command.application.loading import read_stream
from ameide_command.domain import events
from ameide_command.domain.model import Relation
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2
from ameide_eventstore import EventStore


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
    """The chats a stored artifact is linked to."""
    recorded = await read_stream(store, stream_id)
    return set(links_of(events.decode(event.event_type, event.payload) for event in recorded))
