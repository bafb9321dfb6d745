"""The stored event types of each stream, by their stable type name (the payload's full proto name)."""

from __future__ import annotations

from google.protobuf.message import Message

from ameide_core_proto.artifacts.v1 import artifacts_events_pb2
from ameide_core_proto.threads.v1 import threads_events_pb2

SCHEMA_VERSION = 1

CHAT_EVENTS: tuple[type[Message], ...] = (
    threads_events_pb2.ChatCreatedEvent,
    threads_events_pb2.MessageSentEvent,
    threads_events_pb2.ArtifactAssociatedEvent,
    threads_events_pb2.ChatUpdatedEvent,
    threads_events_pb2.ChatVisibilityChangedEvent,
    threads_events_pb2.ChatDeletedEvent,
    threads_events_pb2.ArtifactDissociatedEvent,
)

ARTIFACT_EVENTS: tuple[type[Message], ...] = (
    artifacts_events_pb2.ArtifactCreatedEvent,
    artifacts_events_pb2.ArtifactContentUpdatedEvent,
    artifacts_events_pb2.ArtifactMetadataUpdatedEvent,
    artifacts_events_pb2.ArtifactChatLinkedEvent,
    artifacts_events_pb2.ArtifactChatUnlinkedEvent,
    artifacts_events_pb2.ArtifactDeletedEvent,
    artifacts_events_pb2.ArtifactAnnotatedEvent,
)

_BY_NAME: dict[str, type[Message]] = {cls.DESCRIPTOR.full_name: cls for cls in (*CHAT_EVENTS, *ARTIFACT_EVENTS)}


def type_name(payload: Message) -> str:
    """The stable ``event_type`` of a payload."""
    return str(payload.DESCRIPTOR.full_name)


def decode(event_type: str, payload: bytes) -> Message | None:
    """The payload of a stored event, or ``None`` for a type this version does not know."""
    cls = _BY_NAME.get(event_type)
    if cls is None:
        return None
    message = cls()
    message.ParseFromString(payload)
    return message
