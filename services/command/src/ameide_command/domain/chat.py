"""The chat aggregate: deciders (state + command -> events) and ``evolve`` (state + event -> state)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from ameide_command.domain import access
from ameide_command.domain.commands import ChangeVisibility, DeleteChat, RenameChat, SendMessage, StartChat
from ameide_command.domain.errors import InvalidCommandError, Violation
from ameide_command.domain.linkmap import LinkMap
from ameide_command.domain.model import PRIVATE, UNSPECIFIED_VISIBILITY, Actor, ChatState, Happened, Link
from ameide_core_proto.threads.v1 import threads_events_pb2 as events_pb2
from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2


def start(command: StartChat, actor: Actor) -> events_pb2.ChatCreatedEvent:
    """The event creating a chat owned by ``actor``."""
    return events_pb2.ChatCreatedEvent(
        threads_id=command.chat_id,
        user_id=actor.user_id,
        tenant_id=actor.tenant_id,
        title=command.title,
        visibility=command.visibility if command.visibility != UNSPECIFIED_VISIBILITY else PRIVATE,
        artifact_id=command.artifact_id,
        agent_id=command.agent_id,
        metadata=types_pb2.ChatMetadata(
            labels=dict(command.labels), description=command.description, tags=list(command.tags)
        ),
    )


def send_message(
    chat: ChatState | None, command: SendMessage, actor: Actor, *, artifact_id: str = ""
) -> events_pb2.MessageSentEvent:
    """A message appended by ``actor``; its sequence is the chat's next (1-based)."""
    writable = access.writable_chat(chat, actor, command.chat_id)
    return message_sent(writable, command, actor, artifact_id=artifact_id)


def message_sent(
    chat: ChatState, command: SendMessage, actor: Actor, *, artifact_id: str = ""
) -> events_pb2.MessageSentEvent:
    """The message event for a chat already checked to be writable (also used right after creating one)."""
    given = command.message
    message = types_pb2.ChatMessage(
        id=command.message_id,
        threads_id=chat.chat_id,
        role=given.role,
        parts=given.parts,
        attachments=given.attachments,
        artifact_id=artifact_id or given.artifact_id,
        tenant_id=actor.tenant_id,
        user_id=actor.user_id,
        idempotency_key=command.idempotency_key,
        sequence=chat.message_count + 1,
    )
    message.created_at.FromDatetime(command.at)
    return events_pb2.MessageSentEvent(message_id=command.message_id, threads_id=chat.chat_id, message=message)


def rename(chat: ChatState | None, command: RenameChat, actor: Actor) -> list[Message]:
    """Rename (owner only); the same title again changes nothing."""
    owned = access.owned_chat(chat, actor, command.chat_id)
    if owned.title == command.title:
        return []
    return [
        events_pb2.ChatUpdatedEvent(
            threads_id=owned.chat_id, field="title", old_value=owned.title, new_value=command.title
        )
    ]


def change_visibility(chat: ChatState | None, command: ChangeVisibility, actor: Actor) -> list[Message]:
    """Change visibility (owner only); UNSPECIFIED is not a visibility to change to."""
    if command.visibility == UNSPECIFIED_VISIBILITY:
        raise InvalidCommandError(Violation("visibility", "must be PRIVATE, TEAM or PUBLIC"))
    owned = access.owned_chat(chat, actor, command.chat_id)
    if owned.visibility == command.visibility:
        return []
    return [
        events_pb2.ChatVisibilityChangedEvent(
            threads_id=owned.chat_id, old_visibility=owned.visibility, new_visibility=command.visibility
        )
    ]


def delete(chat: ChatState | None, command: DeleteChat, actor: Actor) -> list[Message]:
    """Soft-delete (owner only); a deleted chat is NOT_FOUND, so deleting twice is NOT_FOUND."""
    owned = access.owned_chat(chat, actor, command.chat_id)
    return [events_pb2.ChatDeletedEvent(threads_id=owned.chat_id)]


def evolve(state: ChatState | None, event: Happened) -> ChatState:
    """Apply one stored chat event; unknown payloads only bump the version (forward compatible)."""
    payload = event.payload
    if isinstance(payload, events_pb2.ChatCreatedEvent):
        return _created(payload, event)
    if state is None:
        raise ValueError(f"{payload.DESCRIPTOR.full_name} before ChatCreatedEvent")
    apply = _APPLY.get(type(payload))
    changed = apply(state, payload, event) if apply is not None else {}
    # One copy of the state per event (every command decides on one): the version bump and the event's changes.
    return dataclasses.replace(state, version=state.version + 1, updated_at=event.at, **changed)


# What each event changes besides the version and ``updated_at`` (as ``dataclasses.replace`` arguments).
Changed = dict[str, Any]


def _message_sent(state: ChatState, _: Message, event: Happened) -> Changed:
    return {"message_count": state.message_count + 1, "last_activity_at": event.at}


def _associated(state: ChatState, payload: Message, event: Happened) -> Changed:
    assert isinstance(payload, events_pb2.ArtifactAssociatedEvent)  # noqa: S101 - guaranteed by _APPLY's key
    link = Link(relation=payload.relation_type, linked_at=event.at, linked_by=event.user_id)
    return {"artifacts": LinkMap.of(state.artifacts).with_link(payload.artifact_id, link)}


def _dissociated(state: ChatState, payload: Message, _: Happened) -> Changed:
    assert isinstance(payload, events_pb2.ArtifactDissociatedEvent)  # noqa: S101 - guaranteed by _APPLY's key
    return {"artifacts": LinkMap.of(state.artifacts).without(payload.artifact_id)}


def _updated(_: ChatState, payload: Message, __: Happened) -> Changed:
    assert isinstance(payload, events_pb2.ChatUpdatedEvent)  # noqa: S101 - guaranteed by _APPLY's key
    if payload.field == "title":
        return {"title": payload.new_value}
    if payload.field == "metadata":
        metadata = json_format.Parse(payload.new_value, types_pb2.ChatMetadata())
        return {"labels": dict(metadata.labels), "description": metadata.description, "tags": tuple(metadata.tags)}
    return {}


def _visibility_changed(_: ChatState, payload: Message, __: Happened) -> Changed:
    assert isinstance(payload, events_pb2.ChatVisibilityChangedEvent)  # noqa: S101 - guaranteed by _APPLY's key
    return {"visibility": payload.new_visibility}


def _deleted(_: ChatState, __: Message, ___: Happened) -> Changed:
    return {"deleted": True}


_APPLY: dict[type[Message], Callable[[ChatState, Message, Happened], Changed]] = {
    events_pb2.MessageSentEvent: _message_sent,
    events_pb2.ArtifactAssociatedEvent: _associated,
    events_pb2.ArtifactDissociatedEvent: _dissociated,
    events_pb2.ChatUpdatedEvent: _updated,
    events_pb2.ChatVisibilityChangedEvent: _visibility_changed,
    events_pb2.ChatDeletedEvent: _deleted,
}


def _created(payload: events_pb2.ChatCreatedEvent, event: Happened) -> ChatState:
    # ``artifact_id`` is informational: the link itself is the ArtifactAssociatedEvent that follows.
    return ChatState(
        chat_id=payload.threads_id,
        tenant_id=payload.tenant_id,
        owner_id=payload.user_id or event.user_id,
        title=payload.title,
        visibility=payload.visibility or PRIVATE,
        agent_id=payload.agent_id,
        created_at=event.at,
        updated_at=event.at,
        last_activity_at=event.at,
        version=1,
        labels=dict(payload.metadata.labels),
        description=payload.metadata.description,
        tags=tuple(payload.metadata.tags),
        artifacts=LinkMap(),
    )
