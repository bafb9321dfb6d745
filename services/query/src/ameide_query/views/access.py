"""Who may read what (design.md section 5), applied on every read.

Chats: PRIVATE -> the owner only; TEAM -> every user of the tenant; PUBLIC -> as TEAM, plus read-only by id for
any authenticated caller (never listed or searched outside its tenant). Artifacts: every user of their tenant.
Deleted resources and other tenants' resources are simply absent (NOT_FOUND, no existence leak).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sqlalchemy import text

from ameide_pg.pool import Conn
from ameide_pg.statements import compiled
from ameide_query.views.rows import ARTIFACT_COLUMNS, CHAT_COLUMNS, PUBLIC, TEAM
from ameide_readmodel.artifacts import ArtifactRow
from ameide_readmodel.chats import ChatRow
from ameide_runtime.identity import Identity

# The listing rule in SQL (alias c = rm_chats): a caller's own chats, and the tenant's TEAM and PUBLIC chats.
# Tenant isolation is a separate `c.tenant_id = :tenant` so the keyset indexes apply.
LISTABLE_CHAT = "NOT c.deleted AND (c.owner = :user OR c.visibility IN (2, 3))"

_CHAT = text(f"SELECT {CHAT_COLUMNS} FROM rm_chats AS c WHERE c.id = :id")  # noqa: S608 - constant columns
_ARTIFACT = text(f"SELECT {ARTIFACT_COLUMNS} FROM rm_artifacts AS a WHERE a.id = :id")  # noqa: S608 - constant columns
_CHAT_SQL = compiled(_CHAT)
_ARTIFACT_SQL = compiled(_ARTIFACT)


class ChatAccess(Protocol):
    """What the rules read of a chat (a ``ChatRow`` has it; so does ``ChatFacts``)."""

    @property
    def tenant_id(self) -> str:
        """The chat's tenant."""

    @property
    def owner(self) -> str:
        """The user who created it."""

    @property
    def visibility(self) -> int:
        """PRIVATE, TEAM or PUBLIC."""

    @property
    def deleted(self) -> bool:
        """Soft-deleted."""


@dataclass(frozen=True, slots=True)
class ChatFacts:
    """A chat as the rules and a reference to it need it: who may read it, and its title."""

    tenant_id: str
    owner: str
    visibility: int
    deleted: bool
    title: str = ""


def can_read_chat(chat: ChatAccess, caller: Identity) -> bool:
    """Whether ``caller`` may read ``chat`` by id."""
    if chat.deleted:
        return False
    if chat.visibility == PUBLIC:
        return True
    if chat.tenant_id != caller.tenant_id:
        return False
    return chat.visibility == TEAM or chat.owner == caller.user_id


def can_list_chat(chat: ChatAccess, caller: Identity) -> bool:
    """Whether ``chat`` appears in ``caller``'s lists and searches (never outside its tenant).

    The chats an artifact shows (GetArtifactChats, GetArtifact(include_chats), its history, its live
    ``threads_added``) are exactly the listable ones; ``LISTABLE_CHAT`` is this rule in SQL.
    """
    return chat.tenant_id == caller.tenant_id and can_read_chat(chat, caller)


def can_write_chat(chat: ChatAccess, caller: Identity) -> bool:
    """Whether ``caller`` may send to ``chat``: the command side's rule (anyone who may read it in its tenant)."""
    return can_list_chat(chat, caller)


def may_learn_chat_left(chat: ChatAccess, visibility_before: int, caller: Identity) -> bool:
    """Whether ``caller`` may be told that ``chat`` left a list of theirs (made PRIVATE, deleted, unlinked).

    Only if they could list it just before the change (its visibility then: ``visibility_before``, 0 when not
    known), or could list it now were it not deleted: telling anyone else would name a chat they never could see.
    """
    undeleted = ChatFacts(chat.tenant_id, chat.owner, chat.visibility, deleted=False)
    before = replace(undeleted, visibility=visibility_before or chat.visibility)
    return can_list_chat(undeleted, caller) or can_list_chat(before, caller)


def can_read_artifact(artifact: ArtifactRow, caller: Identity) -> bool:
    """Whether ``caller`` may read ``artifact``."""
    return not artifact.deleted and artifact.tenant_id == caller.tenant_id


def _chat_if_readable(row: Any, caller: Identity) -> ChatRow | None:  # noqa: ANN401 - a result row
    if row is None:
        return None
    chat = ChatRow.of(row)
    return chat if can_read_chat(chat, caller) else None


def _artifact_if_readable(row: Any, caller: Identity) -> ArtifactRow | None:  # noqa: ANN401 - a result row
    if row is None:
        return None
    artifact = ArtifactRow(**{**row._asdict(), "body": None})
    return artifact if can_read_artifact(artifact, caller) else None


async def readable_chat(conn: Conn, caller: Identity, threads_id: uuid.UUID) -> ChatRow | None:
    """The chat if ``caller`` may read it, else ``None`` (unknown, deleted, another tenant's, or private)."""
    return _chat_if_readable(await (await conn.execute(_CHAT_SQL, {"id": threads_id})).fetchone(), caller)


async def readable_artifact(conn: Conn, caller: Identity, artifact_id: uuid.UUID) -> ArtifactRow | None:
    """The artifact (without content) if ``caller`` may read it, else ``None``."""
    return _artifact_if_readable(await (await conn.execute(_ARTIFACT_SQL, {"id": artifact_id})).fetchone(), caller)


async def writable_chat(conn: Conn, caller: Identity, threads_id: uuid.UUID) -> ChatRow | None:
    """The chat if ``caller`` may send to it (a draft there becomes a message), else ``None``."""
    chat = await readable_chat(conn, caller, threads_id)
    return chat if chat is not None and can_write_chat(chat, caller) else None
