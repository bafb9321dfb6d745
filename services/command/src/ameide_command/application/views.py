"""Response messages built from decision states (the command side answers from what it just decided)."""

from __future__ import annotations

from ameide_command.domain.model import ChatState, Link
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2
from ameide_core_proto.threads.v1 import threads_types_pb2


def chat_view(state: ChatState) -> threads_types_pb2.Chat:
    """The chat as the query side will show it once projected."""
    view = threads_types_pb2.Chat(
        id=state.chat_id,
        title=state.title,
        user_id=state.owner_id,
        visibility=state.visibility,
        metadata=threads_types_pb2.ChatMetadata(
            labels=dict(state.labels), description=state.description, tags=list(state.tags)
        ),
        tenant_id=state.tenant_id,
        agent_id=state.agent_id,
        message_count=state.message_count,
        version=state.version,
    )
    view.created_at.FromDatetime(state.created_at)
    view.updated_at.FromDatetime(state.updated_at)
    view.last_activity_at.FromDatetime(state.last_activity_at)
    return view


def relation_view(chat_id: str, artifact_id: str, link: Link) -> threads_types_pb2.ChatArtifactRelation:
    """A chat <-> artifact relation seen from the chat."""
    view = threads_types_pb2.ChatArtifactRelation(
        threads_id=chat_id, artifact_id=artifact_id, type=link.relation, created_by=link.linked_by
    )
    view.created_at.FromDatetime(link.linked_at)
    return view


def chat_reference(chat: ChatState, link: Link) -> artifacts_types_pb2.ChatReference:
    """A chat <-> artifact relation seen from the artifact."""
    view = artifacts_types_pb2.ChatReference(
        threads_id=chat.chat_id, threads_title=chat.title, relation_type=link.relation
    )
    view.linked_at.FromDatetime(link.linked_at)
    return view
