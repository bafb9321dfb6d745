"""Chat reads: one chat (with its feed head), the caller's chat list, and a chat's artifacts."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text

from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_pg.pool import Conn
from ameide_pg.statements import compiled
from ameide_query.views.access import LISTABLE_CHAT, can_read_chat
from ameide_query.views.db import tuple_cursor
from ameide_query.views.fulltext import TSQUERY
from ameide_query.views.fulltext import params as fulltext_params
from ameide_query.views.pages import TOP_ID, TOP_TIME, Page, cut
from ameide_query.views.rows import CHAT_COLUMNS, LISTED_CHAT_COLUMNS, ListedChat
from ameide_readmodel.chats import ChatRow
from ameide_readmodel.timestamps import timestamp
from ameide_runtime.identity import Identity

_GET_CHAT = text(
    f"SELECT {CHAT_COLUMNS}, (SELECT h.seq FROM rm_feed_heads AS h WHERE h.feed_key = :feed) AS feed_seq "  # noqa: S608 - constant columns
    "FROM rm_chats AS c WHERE c.id = :id"
)
_GET_CHAT_SQL = compiled(_GET_CHAT)

# ChatFilter, every field optional (0 / NULL / empty = not filtering).
_FILTERS = (
    " AND (CAST(:visibility AS smallint) = 0 OR c.visibility = :visibility)"
    " AND (CAST(:created_after AS timestamptz) IS NULL OR c.created_at > :created_after)"
    " AND (CAST(:created_before AS timestamptz) IS NULL OR c.created_at < :created_before)"
    " AND (cardinality(CAST(:artifact_ids AS uuid[])) = 0 OR EXISTS (SELECT 1 FROM rm_chat_artifacts AS l"
    " WHERE l.chat_id = c.id AND l.artifact_id = ANY(CAST(:artifact_ids AS uuid[]))))"
)
MATCHES = (
    " AND (EXISTS (SELECT 1 FROM rm_chat_search AS s WHERE s.chat_id = c.id AND s.search @@ q.tsq)"
    " OR EXISTS (SELECT 1 FROM rm_messages AS m WHERE m.chat_id = c.id AND m.search @@ q.tsq))"
)
_VISIBLE = "c.tenant_id = :tenant AND " + LISTABLE_CHAT + _FILTERS


def _list_statement(*, matching: bool) -> str:
    source = "rm_chats AS c, q" if matching else "rm_chats AS c"
    where = _VISIBLE + (MATCHES if matching else "")
    head = f"WITH q AS (SELECT {TSQUERY} AS tsq) " if matching else ""
    return (
        f"{head}SELECT t.total, p.* FROM (SELECT count(*) AS total FROM {source} WHERE {where}) AS t "  # noqa: S608 - constant fragments
        f"LEFT JOIN LATERAL (SELECT {LISTED_CHAT_COLUMNS} FROM {source} WHERE {where} "
        "AND (c.last_activity_at, c.id) < (:k_at, :k_id) "
        "ORDER BY c.last_activity_at DESC, c.id DESC LIMIT :limit) AS p ON true"
    )


_LIST_CHATS = text(_list_statement(matching=False))
_LIST_CHATS_SQL = compiled(_LIST_CHATS)
_LIST_CHATS_MATCHING = text(_list_statement(matching=True))
_LIST_CHATS_MATCHING_SQL = compiled(_LIST_CHATS_MATCHING)

# A chat's artifacts the caller may read (its tenant's, not deleted), most recently linked first.
_ARTIFACTS_WHERE = "l.chat_id = :chat AND a.tenant_id = :tenant AND NOT a.deleted"
_CHAT_ARTIFACTS = text(
    "SELECT t.total, p.* FROM (SELECT count(*) AS total FROM rm_chat_artifacts AS l "  # noqa: S608 - constant fragments
    f"JOIN rm_artifacts AS a ON a.id = l.artifact_id WHERE {_ARTIFACTS_WHERE}) AS t "
    "LEFT JOIN LATERAL (SELECT l.artifact_id, a.title, a.kind, l.relation_type, l.linked_at "
    f"FROM rm_chat_artifacts AS l JOIN rm_artifacts AS a ON a.id = l.artifact_id WHERE {_ARTIFACTS_WHERE} "
    "AND (l.linked_at, l.artifact_id) < (:k_at, :k_id) "
    "ORDER BY l.linked_at DESC, l.artifact_id DESC LIMIT :limit) AS p ON true"
)
_CHAT_ARTIFACTS_SQL = compiled(_CHAT_ARTIFACTS)


@dataclass(frozen=True, slots=True)
class ChatFilterValues:
    """A ChatFilter, validated."""

    visibility: int = 0
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    artifact_ids: Sequence[uuid.UUID] = ()
    query: str = ""

    def params(self) -> dict[str, object]:
        """Bind parameters of the filter fragment."""
        return {
            "visibility": self.visibility,
            "created_after": self.created_after,
            "created_before": self.created_before,
            "artifact_ids": list(self.artifact_ids),
            **fulltext_params(self.query),
        }


# A list's filter recurs (most lists have none): its bind parameters are built once (read-only, copied per call).
_FILTERS_REMEMBERED = 1024


@functools.lru_cache(maxsize=_FILTERS_REMEMBERED)
def _filter_params(values: ChatFilterValues) -> dict[str, object]:
    return values.params()


async def get_chat(conn: Conn, caller: Identity, chat_id: uuid.UUID, feed: str) -> tuple[ChatRow, int] | None:
    """The chat and its feed's head sequence, read in one statement (one snapshot); ``None`` if not readable."""
    row = await (await conn.execute(_GET_CHAT_SQL, {"id": chat_id, "feed": feed})).fetchone()
    if row is None:
        return None
    chat = ChatRow.of(row)
    if not can_read_chat(chat, caller):
        return None
    return chat, int(row.feed_seq or 0)


async def list_chats(
    conn: Conn,
    caller: Identity,
    chat_filter: ChatFilterValues,
    *,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> Page[ListedChat]:
    """The caller's visible chats matching the filter, most recently active first, after the keyset position."""
    k_at, k_id = after or (TOP_TIME, TOP_ID)
    params = {
        "tenant": caller.tenant_id,
        "user": caller.user_id,
        "k_at": k_at,
        "k_id": k_id,
        "limit": limit + 1,
        **_filter_params(chat_filter),
    }
    statement = _LIST_CHATS_MATCHING_SQL if chat_filter.query else _LIST_CHATS_SQL
    # Plain tuples (total, then LISTED_CHAT_COLUMNS): cheaper than a named tuple per row. Binary results: integers,
    # flags and the tags array arrive as values, not as text to parse.
    cursor = tuple_cursor(conn)
    rows = await (await cursor.execute(statement, params, binary=True)).fetchall()
    total = int(rows[0][0]) if rows else 0
    # No visible chat (after the position) is one row of NULLs from the outer join, and then the only row.
    chats = rows if rows and rows[0][1] is not None else []
    return cut(chats, total, limit)


@dataclass(frozen=True, slots=True)
class LinkedArtifact:
    """An artifact linked to a chat."""

    artifact_id: uuid.UUID
    title: str
    kind: str
    relation_type: int
    linked_at: dt.datetime

    def message(self) -> types.ArtifactReference:
        """The wire ArtifactReference."""
        return types.ArtifactReference(
            artifact_id=str(self.artifact_id),
            title=self.title,
            kind=self.kind,
            relation_type=self.relation_type,  # type: ignore[arg-type]
            linked_at=timestamp(self.linked_at),
        )


async def chat_artifacts(
    conn: Conn,
    caller: Identity,
    chat_id: uuid.UUID,
    *,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> Page[LinkedArtifact]:
    """Artifacts linked to the chat that the caller may read, most recently linked first."""
    k_at, k_id = after or (TOP_TIME, TOP_ID)
    params = {"chat": chat_id, "tenant": caller.tenant_id, "k_at": k_at, "k_id": k_id, "limit": limit + 1}
    rows = await (await conn.execute(_CHAT_ARTIFACTS_SQL, params)).fetchall()
    total = int(rows[0].total) if rows else 0
    linked = [
        LinkedArtifact(r.artifact_id, r.title, r.kind, r.relation_type, r.linked_at)
        for r in rows
        if r.artifact_id is not None
    ]
    return cut(linked, total, limit)
