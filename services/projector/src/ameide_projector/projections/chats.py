"""Projections of a chat's stream: the chat row, its messages, its links, and the chat feed's updates."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

from google.protobuf import json_format

from ameide_core_proto.threads.v1 import threads_events_pb2 as ev
from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_projector.projections.effects import (
    AddMessage,
    AnnounceChat,
    Effect,
    Link,
    MissingStateError,
    PutChat,
    Unlink,
)
from ameide_projector.projections.envelope import Envelope
from ameide_projector.projections.envelope import payload_as as _cast
from ameide_projector.projections.protos import chat_update, message_update
from ameide_readmodel.chats import ChatRow, MessageRow
from ameide_readmodel.links import LinkRow
from ameide_readmodel.timestamps import of_timestamp, timestamp
from ameide_readmodel.wire import chat_message


def _created(event: Envelope, chat: ChatRow | None) -> list[Effect]:
    del chat  # a chat is created once; the version guard drops replays before they get here
    payload = _cast(event, ev.ChatCreatedEvent)
    visibility = payload.visibility or types.CHAT_VISIBILITY_PRIVATE
    row = ChatRow(
        id=event.stream_id,
        tenant_id=event.tenant_id,
        owner=payload.user_id or event.user_id,
        title=payload.title,
        visibility=int(visibility),
        description=payload.metadata.description,
        labels=dict(payload.metadata.labels),
        tags=tuple(payload.metadata.tags),
        agent_id=payload.agent_id,
        message_count=0,
        created_at=event.occurred_at,
        updated_at=event.occurred_at,
        last_activity_at=event.occurred_at,
        deleted=False,
        version=event.version,
    )
    return [PutChat(row)]


def message_text(message: types.ChatMessage) -> str:
    """What full-text search indexes of a message: its text parts and code."""
    texts: list[str] = []
    for part in message.parts:
        kind = part.WhichOneof("kind")
        if kind == "text":
            texts.append(part.text.text)
        elif kind == "code":
            texts.append(part.code.content)
    # NUL cannot be stored in a Postgres text column.
    return "\n".join(texts).replace("\x00", "")


def _message_sent(event: Envelope, chat: ChatRow | None) -> list[Effect]:
    chat = _require(event, chat)
    # The decoded payload belongs to this event alone: complete its message in place (no copy).
    payload = _cast(event, ev.MessageSentEvent)
    message = payload.message
    # Fill what older writers may have left empty, from the envelope (deterministic: a rebuild agrees).
    message.id = message.id or payload.message_id
    message.threads_id = event.stream_key
    message.tenant_id = message.tenant_id or event.tenant_id
    message.user_id = message.user_id or event.user_id
    message.sequence = message.sequence or chat.message_count + 1
    if not message.HasField("created_at"):
        message.created_at.CopyFrom(timestamp(event.occurred_at))
    created_at = of_timestamp(message.created_at)
    serialized = message.SerializeToString(deterministic=True)
    row = MessageRow(
        chat_id=event.stream_id,
        seq=message.sequence,
        id=uuid.UUID(message.id),
        tenant_id=message.tenant_id,
        user_id=message.user_id,
        role=message.role,
        payload=serialized,
        text=message_text(message),
        created_at=created_at,
    )
    # Positional construction: dataclasses.replace costs several times more, once per message.
    updated = ChatRow(
        chat.id,
        chat.tenant_id,
        chat.owner,
        chat.title,
        chat.visibility,
        chat.description,
        chat.labels,
        chat.tags,
        chat.agent_id,
        chat.message_count + 1,
        chat.created_at,
        event.occurred_at,
        max(chat.last_activity_at, created_at),
        chat.deleted,
        event.version,
    )
    return [AddMessage(row), PutChat(updated), message_update(event, serialized)]


def _associated(event: Envelope, chat: ChatRow | None) -> list[Effect]:
    chat = _require(event, chat)
    payload = _cast(event, ev.ArtifactAssociatedEvent)
    relation = payload.relation_type or types.RELATION_TYPE_REFERENCED
    link = LinkRow(
        chat_id=event.stream_id,
        artifact_id=uuid.UUID(payload.artifact_id),
        tenant_id=event.tenant_id,
        relation_type=int(relation),
        linked_at=event.occurred_at,
        linked_by=event.user_id,
    )
    update = svc.ChatUpdate(
        relation=types.ChatArtifactRelation(
            threads_id=event.stream_key,
            artifact_id=payload.artifact_id,
            type=relation,
            created_at=timestamp(event.occurred_at),
            created_by=event.user_id,
        )
    )
    return [Link(link), PutChat(_touch(event, chat)), chat_update(event, update)]


def _dissociated(event: Envelope, chat: ChatRow | None) -> list[Effect]:
    chat = _require(event, chat)
    payload = _cast(event, ev.ArtifactDissociatedEvent)
    update = svc.ChatUpdate(
        relation_removed=types.ChatArtifactRelationRemoved(threads_id=event.stream_key, artifact_id=payload.artifact_id)
    )
    unlink = Unlink(chat_id=event.stream_id, artifact_id=uuid.UUID(payload.artifact_id))
    return [unlink, PutChat(_touch(event, chat)), chat_update(event, update)]


def _updated(event: Envelope, chat: ChatRow | None) -> list[Effect]:
    chat = _require(event, chat)
    payload = _cast(event, ev.ChatUpdatedEvent)
    if payload.field == "title":
        updated = _touch(event, chat, title=payload.new_value)
    elif payload.field == "metadata":
        metadata = json_format.Parse(payload.new_value or "{}", types.ChatMetadata(), ignore_unknown_fields=True)
        updated = _touch(
            event, chat, labels=dict(metadata.labels), description=metadata.description, tags=tuple(metadata.tags)
        )
    elif payload.field == "agent_id":
        updated = _touch(event, chat, agent_id=payload.new_value)
    else:
        # A field this projector does not show: the version still advances.
        return [PutChat(_touch(event, chat))]
    effects: list[Effect] = [PutChat(updated), _state_changed(event, updated, payload.field)]
    if payload.field == "title":
        effects.append(AnnounceChat(updated, 0, event.occurred_at))
    return effects


def _visibility_changed(event: Envelope, chat: ChatRow | None) -> list[Effect]:
    chat = _require(event, chat)
    payload = _cast(event, ev.ChatVisibilityChangedEvent)
    updated = _touch(event, chat, visibility=int(payload.new_visibility))
    return [
        PutChat(updated),
        _state_changed(event, updated, "visibility"),
        AnnounceChat(updated, chat.visibility, event.occurred_at),
    ]


def _deleted(event: Envelope, chat: ChatRow | None) -> list[Effect]:
    chat = _require(event, chat)
    update = svc.ChatUpdate(deleted=types.ChatDeleted(threads_id=event.stream_key))
    deleted = _touch(event, chat, deleted=True)
    return [PutChat(deleted), chat_update(event, update), AnnounceChat(deleted, chat.visibility, event.occurred_at)]


def _state_changed(event: Envelope, chat: ChatRow, field: str) -> Effect:
    update = svc.ChatUpdate(state_changed=types.ChatStateChanged(threads=chat_message(chat), field=field))
    return chat_update(event, update)


def _touch(event: Envelope, chat: ChatRow, **changes: object) -> ChatRow:
    """The chat after ``event``: every event advances the version and the update time."""
    return dataclasses.replace(chat, version=event.version, updated_at=event.occurred_at, **changes)  # type: ignore[arg-type]


def _require(event: Envelope, chat: ChatRow | None) -> ChatRow:
    if chat is None:
        raise MissingStateError(f"{event.event_type} for chat {event.stream_id}, which was never created")
    return chat


ChatProjection = Callable[[Envelope, ChatRow | None], list[Effect]]

CHAT_PROJECTIONS: dict[str, ChatProjection] = {
    ev.ChatCreatedEvent.DESCRIPTOR.full_name: _created,
    ev.MessageSentEvent.DESCRIPTOR.full_name: _message_sent,
    ev.ArtifactAssociatedEvent.DESCRIPTOR.full_name: _associated,
    ev.ArtifactDissociatedEvent.DESCRIPTOR.full_name: _dissociated,
    ev.ChatUpdatedEvent.DESCRIPTOR.full_name: _updated,
    ev.ChatVisibilityChangedEvent.DESCRIPTOR.full_name: _visibility_changed,
    ev.ChatDeletedEvent.DESCRIPTOR.full_name: _deleted,
}
