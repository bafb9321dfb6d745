"""EnsureChatForArtifactAndSendMessage: the artifact-first send, decided over the artifact and (maybe) a chat."""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message

from ameide_command.domain import access, chat, links
from ameide_command.domain.commands import EnsureChatForArtifact, LinkChatArtifact, SendMessage, StartChat
from ameide_command.domain.model import REFERENCED, Actor, AgentPolicy, ArtifactState, ChatState, Happened
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2
from ameide_core_proto.threads.v1 import threads_events_pb2


@dataclass(frozen=True, slots=True)
class EnsureDecision:
    """Which chat received the message, whether it was created, and the events of both streams."""

    chat_id: str
    created: bool
    chat_events: list[Message] = field(default_factory=list)
    artifact_events: list[Message] = field(default_factory=list)


def discussion_title(artifact_title: str, max_chars: int) -> str:
    """The title of a chat created from an artifact, cut to the title limit."""
    return f"Discussion about {artifact_title}"[:max_chars]


def ensure(
    existing_chat: ChatState | None,
    artifact: ArtifactState | None,
    command: EnsureChatForArtifact,
    actor: Actor,
    *,
    agents: AgentPolicy,
    max_title_chars: int,
) -> EnsureDecision:
    """Send into the given chat (linking it to the artifact if needed) or into a new chat about the artifact."""
    target_artifact = access.tenant_artifact(artifact, actor, command.artifact_id)
    send = SendMessage(
        chat_id=command.chat_id or command.new_chat_id,
        message=command.message,
        idempotency_key=command.idempotency_key,
        message_id=command.message_id,
        at=command.at,
    )
    if command.chat_id:
        target = access.writable_chat(existing_chat, actor, command.chat_id)
        linked = links.link_checked(
            target, target_artifact, LinkChatArtifact(target.chat_id, target_artifact.artifact_id, REFERENCED)
        )
        message = chat.message_sent(target, send, actor, artifact_id=target_artifact.artifact_id)
        return EnsureDecision(
            chat_id=target.chat_id,
            created=False,
            chat_events=[*linked.chat_events, message],
            artifact_events=linked.artifact_events,
        )
    created = chat.start(
        StartChat(
            chat_id=command.new_chat_id,
            title=discussion_title(target_artifact.title, max_title_chars),
            visibility=command.visibility,
            agent_id=agents.for_kind(target_artifact.kind),
            artifact_id=target_artifact.artifact_id,
        ),
        actor,
    )
    new_chat = chat.evolve(None, Happened(created, command.at, actor.user_id))
    return EnsureDecision(
        chat_id=command.new_chat_id,
        created=True,
        chat_events=[
            created,
            threads_events_pb2.ArtifactAssociatedEvent(
                threads_id=command.new_chat_id, artifact_id=target_artifact.artifact_id, relation_type=REFERENCED
            ),
            chat.message_sent(new_chat, send, actor, artifact_id=target_artifact.artifact_id),
        ],
        artifact_events=[
            artifacts_events_pb2.ArtifactChatLinkedEvent(
                artifact_id=target_artifact.artifact_id, threads_id=command.new_chat_id, relation_type=REFERENCED
            )
        ],
    )
