"""Builders of stored events for projector and query tests: the payloads the command side writes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from google.protobuf.message import Message

from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_ev
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_ev
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_eventstore import NewEvent, RecordedEvent

T0 = dt.datetime(2025, 1, 21, 12, 0, tzinfo=dt.UTC)


def new_event(payload: Message, *, user: str, tenant: str, at: dt.datetime) -> NewEvent:
    """A NewEvent of ``payload`` with the metadata the command side writes."""
    return NewEvent(
        event_id=uuid.uuid4(),
        event_type=payload.DESCRIPTOR.full_name,
        payload=payload.SerializeToString(),
        metadata={"user_id": user, "tenant_id": tenant, "occurred_at": at.isoformat()},
    )


@dataclass
class Log:
    """An in-memory event log: append payloads to streams, get RecordedEvents in global order."""

    events: list[RecordedEvent] = field(default_factory=list)
    versions: dict[uuid.UUID, int] = field(default_factory=dict)

    def add(
        self, stream: uuid.UUID, stream_type: str, payload: Message, *, user: str, tenant: str, at: dt.datetime
    ) -> RecordedEvent:
        """Append one event to ``stream``."""
        version = self.versions.get(stream, 0) + 1
        self.versions[stream] = version
        new = new_event(payload, user=user, tenant=tenant, at=at)
        recorded = RecordedEvent(
            global_position=len(self.events) + 1,
            stream_id=stream,
            stream_type=stream_type,
            tenant_id=tenant,
            version=version,
            event_id=new.event_id,
            event_type=new.event_type,
            schema_version=1,
            payload=new.payload,
            metadata=dict(new.metadata),
            recorded_at=at,
        )
        self.events.append(recorded)
        return recorded


def chat_created(
    chat: uuid.UUID,
    *,
    user: str,
    tenant: str,
    title: str = "A chat",
    visibility: int = types.CHAT_VISIBILITY_PRIVATE,
    description: str = "",
    tags: tuple[str, ...] = (),
    labels: Mapping[str, str] | None = None,
    agent: str = "general-assistant",
) -> chat_ev.ChatCreatedEvent:
    """ChatCreatedEvent as the command side writes it."""
    return chat_ev.ChatCreatedEvent(
        threads_id=str(chat),
        user_id=user,
        tenant_id=tenant,
        title=title,
        visibility=visibility,  # type: ignore[arg-type]
        agent_id=agent,
        metadata=types.ChatMetadata(labels=dict(labels or {}), description=description, tags=list(tags)),
    )


def message_sent(
    chat: uuid.UUID, seq: int, text: str, *, user: str, tenant: str, at: dt.datetime, role: str = "user"
) -> chat_ev.MessageSentEvent:
    """MessageSentEvent with one text part."""
    message_id = str(uuid.uuid4())
    message = types.ChatMessage(
        id=message_id,
        threads_id=str(chat),
        role=role,
        parts=[types.MessagePart(text=types.TextPart(text=text))],
        tenant_id=tenant,
        user_id=user,
        sequence=seq,
    )
    message.created_at.FromDatetime(at)
    return chat_ev.MessageSentEvent(message_id=message_id, threads_id=str(chat), message=message)


def artifact_created(
    artifact: uuid.UUID,
    *,
    user: str,
    tenant: str,
    title: str = "Order process",
    kind: str = "bpmn",
    body: bytes = b"<bpmn/>",
    primary_chat: uuid.UUID | None = None,
) -> art_ev.ArtifactCreatedEvent:
    """ArtifactCreatedEvent with content."""
    return art_ev.ArtifactCreatedEvent(
        artifact_id=str(artifact),
        tenant_id=tenant,
        user_id=user,
        title=title,
        kind=kind,
        labels={"team": "ops"},
        content=art_types.ArtifactContent(mime_type="application/xml", body=body),
        primary_threads_id=str(primary_chat) if primary_chat else "",
    )


def link_events(
    chat: uuid.UUID, artifact: uuid.UUID, relation: int = types.RELATION_TYPE_REFERENCED
) -> tuple[chat_ev.ArtifactAssociatedEvent, art_ev.ArtifactChatLinkedEvent]:
    """The two sides of a link, as the command side writes them in one append."""
    return (
        chat_ev.ArtifactAssociatedEvent(
            threads_id=str(chat),
            artifact_id=str(artifact),
            relation_type=relation,  # type: ignore[arg-type]
        ),
        art_ev.ArtifactChatLinkedEvent(
            artifact_id=str(artifact),
            threads_id=str(chat),
            relation_type=relation,  # type: ignore[arg-type]
        ),
    )


def unlink_events(
    chat: uuid.UUID, artifact: uuid.UUID
) -> tuple[chat_ev.ArtifactDissociatedEvent, art_ev.ArtifactChatUnlinkedEvent]:
    """The two sides of removing a link."""
    return (
        chat_ev.ArtifactDissociatedEvent(threads_id=str(chat), artifact_id=str(artifact)),
        art_ev.ArtifactChatUnlinkedEvent(artifact_id=str(artifact), threads_id=str(chat)),
    )
