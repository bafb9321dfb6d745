"""Stored events decoded into what projections read: the payload message plus the envelope facts they use."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_events
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_events
from ameide_eventstore import RecordedEvent

# Every stored event type the projector understands, by its full proto name (the stored ``event_type``).
EVENT_TYPES: dict[str, type[Message]] = {
    cls.DESCRIPTOR.full_name: cls
    for cls in (
        chat_events.ChatCreatedEvent,
        chat_events.MessageSentEvent,
        chat_events.ArtifactAssociatedEvent,
        chat_events.ChatUpdatedEvent,
        chat_events.ChatVisibilityChangedEvent,
        chat_events.ChatDeletedEvent,
        chat_events.ArtifactDissociatedEvent,
        art_events.ArtifactCreatedEvent,
        art_events.ArtifactContentUpdatedEvent,
        art_events.ArtifactMetadataUpdatedEvent,
        art_events.ArtifactChatLinkedEvent,
        art_events.ArtifactChatUnlinkedEvent,
        art_events.ArtifactDeletedEvent,
        art_events.ArtifactAnnotatedEvent,
    )
}


M = TypeVar("M", bound=Message)


class UndecodableEventError(ValueError):
    """A known event type whose payload does not parse: a poison event (parked, never skipped)."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event as projections see it."""

    stream_id: uuid.UUID
    stream_type: str
    tenant_id: str
    version: int
    event_id: uuid.UUID
    event_type: str
    occurred_at: dt.datetime
    user_id: str
    payload: Message
    # str(stream_id), computed once: ids are rendered several times per event (feed keys, message fields).
    stream_key: str = ""


def occurred_at(event: RecordedEvent) -> dt.datetime:
    """When the event happened: metadata ``occurred_at`` (ISO 8601), else when it was recorded.

    Always derived from the stored event, never from the clock, so a rebuild reproduces the same rows.
    """
    text = event.metadata.get("occurred_at", "")
    if text:
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
    return event.recorded_at


def decode(event: RecordedEvent) -> Envelope | None:
    """The envelope of a stored event, or ``None`` when its type is unknown to this projector."""
    cls = EVENT_TYPES.get(event.event_type)
    if cls is None:
        return None
    payload = cls()
    try:
        payload.ParseFromString(event.payload)
    except DecodeError as exc:
        raise UndecodableEventError(f"{event.event_type} at position {event.global_position}: {exc}") from exc
    return Envelope(
        stream_id=event.stream_id,
        stream_type=event.stream_type,
        tenant_id=event.tenant_id,
        version=event.version,
        event_id=event.event_id,
        event_type=event.event_type,
        occurred_at=occurred_at(event),
        user_id=str(event.metadata.get("user_id", "")),
        payload=payload,
        stream_key=str(event.stream_id),
    )


def payload_as(event: Envelope, cls: type[M]) -> M:
    """The event's payload as ``cls`` (projections are registered per type, so this only narrows the type)."""
    if not isinstance(event.payload, cls):
        raise TypeError(f"{event.event_type} is not a {cls.DESCRIPTOR.full_name}")
    return event.payload
