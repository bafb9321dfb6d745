"""Artifact reads: one artifact (current or past version) with its feed head, lists, linked chats, history."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_pg.pool import Conn
from ameide_pg.statements import compiled
from ameide_query.views.access import LISTABLE_CHAT, can_read_artifact
from ameide_query.views.pages import TOP_ID, TOP_TIME, Page, cut
from ameide_query.views.rows import ARTIFACT_COLUMNS
from ameide_readmodel.artifacts import ArtifactRow
from ameide_readmodel.timestamps import timestamp
from ameide_runtime.identity import Identity

# A chat an artifact names (its primary chat, a history entry's chat) is shown to the callers who may list it, as
# GetArtifactChats shows its chats (alias c, joined or looked up by id; :tenant and :user are the caller's).
_CHAT_SHOWN = f"(c.id IS NOT NULL AND c.tenant_id = :tenant AND {LISTABLE_CHAT})"
_PRIMARY_SHOWN = (
    f"EXISTS (SELECT 1 FROM rm_chats AS c WHERE c.id = a.primary_chat_id AND {_CHAT_SHOWN}) AS primary_shown"  # noqa: S608 - constant fragments
)

_GET = text(
    f"SELECT {ARTIFACT_COLUMNS}, a.body, {_PRIMARY_SHOWN}, "  # noqa: S608 - constant columns
    "(SELECT h.seq FROM rm_feed_heads AS h WHERE h.feed_key = :feed) AS feed_seq "
    "FROM rm_artifacts AS a WHERE a.id = :id"
)
_GET_SQL = compiled(_GET)
# The artifact as of version :version: title/labels of the newest version row at or below it, content of the newest
# such row that changed the content. Read with the current row in one statement (one snapshot).
_GET_VERSION = text(
    f"SELECT {ARTIFACT_COLUMNS}, {_PRIMARY_SHOWN}, "  # noqa: S608 - constant columns
    "(SELECT h.seq FROM rm_feed_heads AS h WHERE h.feed_key = :feed) AS feed_seq, v.title AS v_title, "
    "v.labels AS v_labels, v.changed_at AS v_changed_at, b.mime AS v_mime, b.body AS v_body "
    "FROM rm_artifacts AS a "
    "LEFT JOIN LATERAL (SELECT title, labels, changed_at FROM rm_artifact_versions WHERE artifact_id = a.id "
    "AND version <= :version ORDER BY version DESC LIMIT 1) AS v ON true "
    "LEFT JOIN LATERAL (SELECT mime, body FROM rm_artifact_versions WHERE artifact_id = a.id "
    "AND version <= :version AND body IS NOT NULL ORDER BY version DESC LIMIT 1) AS b ON true "
    "WHERE a.id = :id"
)
_GET_VERSION_SQL = compiled(_GET_VERSION)

_LIST_WHERE = (
    "a.tenant_id = :tenant AND NOT a.deleted AND (CAST(:kind AS text) = '' OR a.kind = :kind) "
    "AND (CAST(:chat AS uuid) IS NULL OR EXISTS (SELECT 1 FROM rm_chat_artifacts AS l "
    "WHERE l.artifact_id = a.id AND l.chat_id = :chat))"
)
_LIST = text(
    f"SELECT t.total, p.* FROM (SELECT count(*) AS total FROM rm_artifacts AS a WHERE {_LIST_WHERE}) AS t "  # noqa: S608 - constant fragments
    f"LEFT JOIN LATERAL (SELECT {ARTIFACT_COLUMNS}, {_PRIMARY_SHOWN} FROM rm_artifacts AS a WHERE {_LIST_WHERE} "
    "AND (a.updated_at, a.id) < (:k_at, :k_id) ORDER BY a.updated_at DESC, a.id DESC LIMIT :limit) AS p ON true"
)
_LIST_SQL = compiled(_LIST)

# Chats linked to an artifact that the caller may list (the artifact is of the caller's tenant).
_CHATS_WHERE = f"l.artifact_id = :artifact AND c.tenant_id = :tenant AND {LISTABLE_CHAT}"
_CHATS_FROM = "rm_chat_artifacts AS l JOIN rm_chats AS c ON c.id = l.chat_id"
_ARTIFACT_CHATS = text(
    f"SELECT t.total, p.* FROM (SELECT count(*) AS total FROM {_CHATS_FROM} WHERE {_CHATS_WHERE}) AS t "  # noqa: S608 - constant fragments
    f"LEFT JOIN LATERAL (SELECT l.chat_id, c.title, l.relation_type, l.linked_at FROM {_CHATS_FROM} "
    f"WHERE {_CHATS_WHERE} AND (l.linked_at, l.chat_id) < (:k_at, :k_id) "
    "ORDER BY l.linked_at DESC, l.chat_id DESC LIMIT :limit) AS p ON true"
)
_ARTIFACT_CHATS_SQL = compiled(_ARTIFACT_CHATS)

# History rows are keyed by stream version (one per event; the page cursor). An entry's artifact version counts
# the entries that changed content or metadata up to it: links, unlinks, annotations and deletion keep it.
# A chat the caller may not list is not named: its link and unlink entries are left out (they are about the chat
# alone, and change no version), other entries keep their place without its id.
_VERSIONED = "event_type IN ('created', 'modified', 'metadata_changed')"
_HISTORY_ROWS = (
    "rm_artifact_history AS e LEFT JOIN rm_chats AS c ON c.id = e.chat_id WHERE e.artifact_id = :artifact "
    f"AND (e.event_type NOT IN ('threads_linked', 'threads_unlinked') OR {_CHAT_SHOWN})"
)
_HISTORY = text(
    f"SELECT t.total, p.* FROM (SELECT count(*) AS total FROM {_HISTORY_ROWS}) AS t "  # noqa: S608 - constant fragments
    f"CROSS JOIN (SELECT count(*) FILTER (WHERE version <= :after AND {_VERSIONED}) AS base "
    "FROM rm_artifact_history WHERE artifact_id = :artifact) AS b "
    "LEFT JOIN LATERAL (SELECT e.version, e.event_id, e.event_type, e.occurred_at, e.user_id, "
    f"CASE WHEN {_CHAT_SHOWN} THEN e.chat_id END AS chat_id, e.metadata, "
    f"b.base + count(*) FILTER (WHERE e.{_VERSIONED}) OVER (ORDER BY e.version) AS artifact_version "
    f"FROM {_HISTORY_ROWS} AND e.version > :after ORDER BY e.version LIMIT :limit) AS p ON true"
)
_HISTORY_SQL = compiled(_HISTORY)


def _artifact(row: Any, *, body: bytes | None) -> ArtifactRow:  # noqa: ANN401 - an SQLAlchemy Row
    return ArtifactRow(
        id=row.id,
        tenant_id=row.tenant_id,
        owner=row.owner,
        title=row.title,
        kind=row.kind,
        labels=row.labels,
        version=row.version,
        mime=row.mime,
        body=body,
        # Named only to callers who may list it (the row's primary_shown).
        primary_chat_id=row.primary_chat_id if row.primary_shown else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted=row.deleted,
    )


async def get_artifact(
    conn: Conn, caller: Identity, artifact_id: uuid.UUID, feed: str, *, version: int = 0
) -> tuple[ArtifactRow, int] | None:
    """The artifact with content (as of ``version`` when > 0) and its feed head; ``None`` if not readable/found."""
    who = {"tenant": caller.tenant_id, "user": caller.user_id}
    if version <= 0:
        row = await (await conn.execute(_GET_SQL, {"id": artifact_id, "feed": feed, **who})).fetchone()
        if row is None:
            return None
        artifact = _artifact(row, body=bytes(row.body))
    else:
        row = await (
            await conn.execute(_GET_VERSION_SQL, {"id": artifact_id, "feed": feed, "version": version, **who})
        ).fetchone()
        if row is None or version > row.version or row.v_title is None:
            return None
        current = _artifact(row, body=None)
        artifact = dataclasses.replace(
            current,
            title=row.v_title,
            labels=row.v_labels,
            version=version,
            updated_at=row.v_changed_at,
            mime=row.v_mime or "",
            body=bytes(row.v_body or b""),
        )
    if not can_read_artifact(artifact, caller):
        return None
    return artifact, int(row.feed_seq or 0)


async def list_artifacts(
    conn: Conn,
    caller: Identity,
    *,
    kind: str,
    chat_id: uuid.UUID | None,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> Page[ArtifactRow]:
    """The tenant's artifacts (no content), most recently updated first, optionally of a kind or linked to a chat."""
    k_at, k_id = after or (TOP_TIME, TOP_ID)
    params = {
        "tenant": caller.tenant_id,
        "user": caller.user_id,
        "kind": kind,
        "chat": chat_id,
        "k_at": k_at,
        "k_id": k_id,
        "limit": limit + 1,
    }
    rows = await (await conn.execute(_LIST_SQL, params)).fetchall()
    total = int(rows[0].total) if rows else 0
    return cut([_artifact(r, body=None) for r in rows if r.id is not None], total, limit)


@dataclass(frozen=True, slots=True)
class LinkedChat:
    """A chat linked to an artifact."""

    chat_id: uuid.UUID
    title: str
    relation_type: int
    linked_at: dt.datetime

    def message(self) -> art_types.ChatReference:
        """The wire ChatReference."""
        return art_types.ChatReference(
            threads_id=str(self.chat_id),
            threads_title=self.title,
            relation_type=self.relation_type,  # type: ignore[arg-type]
            linked_at=timestamp(self.linked_at),
        )


async def artifact_chats(
    conn: Conn,
    caller: Identity,
    artifact_id: uuid.UUID,
    *,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> Page[LinkedChat]:
    """Chats linked to the artifact that the caller may read, most recently linked first."""
    k_at, k_id = after or (TOP_TIME, TOP_ID)
    params = {
        "artifact": artifact_id,
        "tenant": caller.tenant_id,
        "user": caller.user_id,
        "k_at": k_at,
        "k_id": k_id,
        "limit": limit + 1,
    }
    rows = await (await conn.execute(_ARTIFACT_CHATS_SQL, params)).fetchall()
    total = int(rows[0].total) if rows else 0
    chats = [LinkedChat(r.chat_id, r.title, r.relation_type, r.linked_at) for r in rows if r.chat_id is not None]
    return cut(chats, total, limit)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """An entry of an artifact's history: ``version`` is its stream version (the page cursor)."""

    version: int
    artifact_version: int
    event_id: uuid.UUID
    event_type: str
    occurred_at: dt.datetime
    user_id: str
    chat_id: uuid.UUID | None
    metadata: Mapping[str, str]

    def message(self) -> art_types.ArtifactHistoryEntry:
        """The wire ArtifactHistoryEntry."""
        return art_types.ArtifactHistoryEntry(
            event_type=self.event_type,
            timestamp=timestamp(self.occurred_at),
            user_id=self.user_id,
            threads_id=str(self.chat_id) if self.chat_id else "",
            metadata=self.metadata,
            version=self.artifact_version,
            event_id=str(self.event_id),
        )


async def history(
    conn: Conn, caller: Identity, artifact_id: uuid.UUID, *, after_version: int, limit: int
) -> Page[HistoryEntry]:
    """History entries after ``after_version``, oldest first, naming only chats ``caller`` may list.

    Access to the artifact is checked by the caller of this function.
    """
    params = {
        "artifact": artifact_id,
        "tenant": caller.tenant_id,
        "user": caller.user_id,
        "after": after_version,
        "limit": limit + 1,
    }
    rows = await (await conn.execute(_HISTORY_SQL, params)).fetchall()
    total = int(rows[0].total) if rows else 0
    entries = [
        HistoryEntry(
            r.version,
            int(r.artifact_version),
            r.event_id,
            r.event_type,
            r.occurred_at,
            r.user_id,
            r.chat_id,
            r.metadata,
        )
        for r in rows
        if r.version is not None
    ]
    return cut(entries, total, limit)
