"""The chat aggregate: deciders (state + command -> events) and ``evolve`` (state + event -> state)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

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
    if type(payload) is events_pb2.MessageSentEvent:
        # By far the commonest event, decided on every send: one copy of the state rather than two.
        return dataclasses.replace(
            state,
            version=state.version + 1,
            updated_at=event.at,
            message_count=state.message_count + 1,
            last_activity_at=event.at,
        )
    state = dataclasses.replace(state, version=state.version + 1, updated_at=event.at)
    apply = _APPLY.get(type(payload))
    return state if apply is None else apply(state, payload, event)


def _associated(state: ChatState, payload: Message, event: Happened) -> ChatState:
    assert isinstance(payload, events_pb2.ArtifactAssociatedEvent)  # noqa: S101 - guaranteed by _APPLY's key
    link = Link(relation=payload.relation_type, linked_at=event.at, linked_by=event.user_id)
    return dataclasses.replace(state, artifacts=LinkMap.of(state.artifacts).with_link(payload.artifact_id, link))


def _dissociated(state: ChatState, payload: Message, _: Happened) -> ChatState:
    assert isinstance(payload, events_pb2.ArtifactDissociatedEvent)  # noqa: S101 - guaranteed by _APPLY's key
    return dataclasses.replace(state, artifacts=LinkMap.of(state.artifacts).without(payload.artifact_id))


def _updated(state: ChatState, payload: Message, _: Happened) -> ChatState:
    assert isinstance(payload, events_pb2.ChatUpdatedEvent)  # noqa: S101 - guaranteed by _APPLY's key
    if payload.field == "title":
        return dataclasses.replace(state, title=payload.new_value)
    if payload.field == "metadata":
        metadata = json_format.Parse(payload.new_value, types_pb2.ChatMetadata())
        return dataclasses.replace(
            state, labels=dict(metadata.labels), description=metadata.description, tags=tuple(metadata.tags)
        )
    return state


def _visibility_changed(state: ChatState, payload: Message, _: Happened) -> ChatState:
    assert isinstance(payload, events_pb2.ChatVisibilityChangedEvent)  # noqa: S101 - guaranteed by _APPLY's key
    return dataclasses.replace(state, visibility=payload.new_visibility)


def _deleted(state: ChatState, _: Message, __: Happened) -> ChatState:
    return dataclasses.replace(state, deleted=True)


_APPLY: dict[type[Message], Callable[[ChatState, Message, Happened], ChatState]] = {
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
