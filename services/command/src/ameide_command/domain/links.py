"""Chat <-> artifact relations: recorded on both streams in one transaction, decided by the chat's side."""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message

from ameide_command.domain import access
from ameide_command.domain.commands import LinkChatArtifact, UnlinkChatArtifact
from ameide_command.domain.errors import NotFoundError
from ameide_command.domain.model import REFERENCED, UNSPECIFIED_RELATION, Actor, ArtifactState, ChatState
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2
from ameide_core_proto.threads.v1 import threads_events_pb2


@dataclass(frozen=True, slots=True)
class Decision:
    """Events for the chat stream and for the artifact stream, appended in one transaction."""

    chat_events: list[Message] = field(default_factory=list)
    artifact_events: list[Message] = field(default_factory=list)


def link(chat: ChatState | None, artifact: ArtifactState | None, command: LinkChatArtifact, actor: Actor) -> Decision:
    """Link a chat the caller may see to an artifact of their tenant.

    An existing relation is kept as it is (its type included): linking again is a no-op.
    """
    visible_chat = access.readable_chat(chat, actor, command.chat_id)
    visible_artifact = access.tenant_artifact(artifact, actor, command.artifact_id)
    return link_checked(visible_chat, visible_artifact, command)


def link_checked(chat: ChatState, artifact: ArtifactState, command: LinkChatArtifact) -> Decision:
    """``link`` for a chat and an artifact whose access was already checked.

    The chat's side is the record of the pair (the artifact keeps no set of its chats, see ``ArtifactState``):
    both streams get their event in the same transaction, so a chat without the relation means neither has it.
    """
    if artifact.artifact_id in chat.artifacts:
        return Decision()
    relation = command.relation if command.relation != UNSPECIFIED_RELATION else REFERENCED
    return Decision(
        [
            threads_events_pb2.ArtifactAssociatedEvent(
                threads_id=chat.chat_id, artifact_id=artifact.artifact_id, relation_type=relation
            )
        ],
        [
            artifacts_events_pb2.ArtifactChatLinkedEvent(
                artifact_id=artifact.artifact_id, threads_id=chat.chat_id, relation_type=relation
            )
        ],
    )


def unlink(
    chat: ChatState | None, artifact: ArtifactState | None, command: UnlinkChatArtifact, actor: Actor
) -> Decision:
    """Remove a relation from both sides (the chat's side tells whether it exists); no relation -> NOT_FOUND."""
    visible_chat = access.readable_chat(chat, actor, command.chat_id)
    visible_artifact = access.tenant_artifact(artifact, actor, command.artifact_id)
    if visible_artifact.artifact_id not in visible_chat.artifacts:
        raise NotFoundError(
            f"chat {command.chat_id} is not linked to artifact {command.artifact_id}", reason="LINK_NOT_FOUND"
        )
    return Decision(
        [threads_events_pb2.ArtifactDissociatedEvent(threads_id=command.chat_id, artifact_id=command.artifact_id)],
        [artifacts_events_pb2.ArtifactChatUnlinkedEvent(artifact_id=command.artifact_id, threads_id=command.chat_id)],
    )
