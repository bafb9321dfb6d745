"""Who may act on what (design.md section 5). Every refusal that could leak existence is NOT_FOUND."""

from __future__ import annotations

from ameide_command.domain.errors import NotFoundError, PermissionDeniedError
from ameide_command.domain.model import PRIVATE, Actor, ArtifactState, ChatState


def readable_chat(chat: ChatState | None, actor: Actor, chat_id: str) -> ChatState:
    """The chat if the caller may see it: same tenant, not deleted, and owned by them unless TEAM or PUBLIC.

    PUBLIC chats are readable by id across tenants on the query side only; commands never cross tenants.
    """
    if chat is None or chat.deleted or chat.tenant_id != actor.tenant_id:
        raise NotFoundError(f"chat {chat_id} not found")
    if chat.visibility == PRIVATE and chat.owner_id != actor.user_id:
        raise NotFoundError(f"chat {chat_id} not found")
    return chat


def writable_chat(chat: ChatState | None, actor: Actor, chat_id: str) -> ChatState:
    """The chat if the caller may send to it or link it: anyone who may see it within the tenant."""
    return readable_chat(chat, actor, chat_id)


def owned_chat(chat: ChatState | None, actor: Actor, chat_id: str) -> ChatState:
    """The chat if the caller owns it; PERMISSION_DENIED for other users who can see it."""
    visible = readable_chat(chat, actor, chat_id)
    if visible.owner_id != actor.user_id:
        raise PermissionDeniedError(f"only the owner may change chat {chat_id}", reason="NOT_CHAT_OWNER")
    return visible


def tenant_artifact(artifact: ArtifactState | None, actor: Actor, artifact_id: str) -> ArtifactState:
    """The artifact if it exists, is not deleted and belongs to the caller's tenant (every tenant user reads it)."""
    if artifact is None or artifact.deleted or artifact.tenant_id != actor.tenant_id:
        raise NotFoundError(f"artifact {artifact_id} not found")
    return artifact


def owned_artifact(artifact: ArtifactState | None, actor: Actor, artifact_id: str) -> ArtifactState:
    """The artifact if the caller created it; PERMISSION_DENIED for other users of the tenant."""
    visible = tenant_artifact(artifact, actor, artifact_id)
    if visible.owner_id != actor.user_id:
        raise PermissionDeniedError(f"only the owner may delete artifact {artifact_id}", reason="NOT_ARTIFACT_OWNER")
    return visible
