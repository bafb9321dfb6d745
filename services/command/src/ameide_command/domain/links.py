"""Chat <-> artifact relations: recorded on both streams, decided over both aggregates at once."""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message

from ameide_command.domain import access
from ameide_command.domain.commands import LinkChatArtifact, UnlinkChatArtifact
from ameide_command.domain.model import REFERENCED, UNSPECIFIED_RELATION, Actor, ArtifactState, ChatState
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2
from ameide_core_proto.threads.v1 import threads_events_pb2
from ameide_runtime.errors import NotFound


@dataclass(frozen=True, slots=True)
class Decision:
    """Events for the chat stream and for the artifact stream, appended in one transaction."""

    chat_events: list[Message] = field(default_factory=list)
    artifact_events: list[Message] = field(default_factory=list)


def link(chat: ChatState | None, artifact: ArtifactState | None, command: LinkChatArtifact, actor: Actor) -> Decision:
    """Link a chat the caller may see to an artifact of their tenant.

    An existing relation is kept as it is (its type included): linking again is a no-op. A side that lacks the
    relation (histories written before both sides were recorded) gets it, with the existing relation type.
    """
    visible_chat = access.readable_chat(chat, actor, command.chat_id)
    visible_artifact = access.tenant_artifact(artifact, actor, command.artifact_id)
    return link_checked(visible_chat, visible_artifact, command)


def link_checked(chat: ChatState, artifact: ArtifactState, command: LinkChatArtifact) -> Decision:
    """``link`` for a chat and an artifact whose access was already checked."""
    on_chat = chat.artifacts.get(artifact.artifact_id)
    on_artifact = artifact.chats.get(chat.chat_id)
    existing = on_chat or on_artifact
    relation = command.relation if command.relation != UNSPECIFIED_RELATION else REFERENCED
    if existing is not None:
        relation = existing.relation
    chat_events: list[Message] = []
    artifact_events: list[Message] = []
    if on_chat is None:
        chat_events.append(
            threads_events_pb2.ArtifactAssociatedEvent(
                threads_id=chat.chat_id, artifact_id=artifact.artifact_id, relation_type=relation
            )
        )
    if on_artifact is None:
        artifact_events.append(
            artifacts_events_pb2.ArtifactChatLinkedEvent(
                artifact_id=artifact.artifact_id, threads_id=chat.chat_id, relation_type=relation
            )
        )
    return Decision(chat_events, artifact_events)


def unlink(
    chat: ChatState | None, artifact: ArtifactState | None, command: UnlinkChatArtifact, actor: Actor
) -> Decision:
    """Remove a relation from both sides; no relation -> NOT_FOUND."""
    visible_chat = access.readable_chat(chat, actor, command.chat_id)
    visible_artifact = access.tenant_artifact(artifact, actor, command.artifact_id)
    on_chat = visible_artifact.artifact_id in visible_chat.artifacts
    on_artifact = visible_chat.chat_id in visible_artifact.chats
    if not on_chat and not on_artifact:
        raise NotFound(
            f"chat {command.chat_id} is not linked to artifact {command.artifact_id}", reason="LINK_NOT_FOUND"
        )
    chat_events: list[Message] = []
    artifact_events: list[Message] = []
    if on_chat:
        chat_events.append(
            threads_events_pb2.ArtifactDissociatedEvent(threads_id=command.chat_id, artifact_id=command.artifact_id)
        )
    if on_artifact:
        artifact_events.append(
            artifacts_events_pb2.ArtifactChatUnlinkedEvent(artifact_id=command.artifact_id, threads_id=command.chat_id)
        )
    return Decision(chat_events, artifact_events)
