"""SearchChats: full text over chat title, tags, description and message text, ranked, then most recent.

Messages are matched through their own GIN index (within the tenant) and grouped per chat; a chat's rank is the
better of its own document's rank and its best message's. Pages use the keyset (rank, updated_at, id), so they
stay stable while other chats change. Snippets come from a second statement over the page's chats only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text

from ameide_pg.pool import Conn
from ameide_pg.statements import compiled
from ameide_query.views.access import LISTABLE_CHAT
from ameide_query.views.chats import _FILTERS, ChatFilterValues
from ameide_query.views.fulltext import TSQUERY
from ameide_query.views.pages import TOP_ID, TOP_TIME, Page, cut
from ameide_query.views.rows import CHAT_COLUMNS
from ameide_readmodel.chats import ChatRow
from ameide_runtime.identity import Identity

# Two queries (the request's and the filter's) must both match: :q2 = '' leaves only the first.
_Q2 = TSQUERY.replace(":q", ":q2").replace(":prefix", ":prefix2")
_QUERY = f"CASE WHEN CAST(:q2 AS text) = '' THEN {TSQUERY} ELSE ({TSQUERY}) && ({_Q2}) END"

# Matching texts are found through their GIN indexes within the tenant (chat documents and messages separately),
# then joined to the chats the caller may list.
_SEARCH = text(
    f"WITH q AS (SELECT {_QUERY} AS tsq), "  # noqa: S608 - constant fragments
    "msg AS (SELECT m.chat_id, max(ts_rank(m.search, q.tsq)) AS rank FROM rm_messages AS m, q "
    "WHERE m.tenant_id = :tenant AND m.search @@ q.tsq GROUP BY m.chat_id), "
    "doc AS (SELECT s.chat_id, ts_rank(s.search, q.tsq) AS rank FROM rm_chat_search AS s, q "
    "WHERE s.tenant_id = :tenant AND s.search @@ q.tsq), "
    "matched AS (SELECT coalesce(doc.chat_id, msg.chat_id) AS chat_id, "
    "greatest(coalesce(doc.rank, 0), coalesce(msg.rank, 0)) AS rank "
    "FROM doc FULL JOIN msg ON msg.chat_id = doc.chat_id), "
    f"hits AS (SELECT {CHAT_COLUMNS}, CAST(matched.rank AS float8) AS rank "
    "FROM matched JOIN rm_chats AS c ON c.id = matched.chat_id "
    f"WHERE c.tenant_id = :tenant AND {LISTABLE_CHAT}{_FILTERS}) "
    "SELECT t.total, p.* FROM (SELECT count(*) AS total FROM hits) AS t LEFT JOIN LATERAL ("
    "SELECT * FROM hits WHERE (hits.rank, hits.updated_at, hits.id) < (:k_rank, :k_at, :k_id) "
    "ORDER BY hits.rank DESC, hits.updated_at DESC, hits.id DESC LIMIT :limit) AS p ON true"
)
_SEARCH_SQL = compiled(_SEARCH)

_HEADLINE_OPTIONS = "StartSel=<b>, StopSel=</b>, MaxWords=24, MinWords=8, MaxFragments=1"
_SNIPPETS = text(
    f"WITH q AS (SELECT {_QUERY} AS tsq) "  # noqa: S608 - constant fragments
    "SELECT c.id, coalesce("
    f"(SELECT ts_headline('simple', m.text, q.tsq, '{_HEADLINE_OPTIONS}') FROM rm_messages AS m "
    "WHERE m.chat_id = c.id AND m.search @@ q.tsq ORDER BY ts_rank(m.search, q.tsq) DESC, m.seq DESC LIMIT 1), "
    "ts_headline('simple', concat_ws(' ', c.title, array_to_string(c.tags, ' '), c.description), q.tsq, "
    f"'{_HEADLINE_OPTIONS}')) AS snippet FROM rm_chats AS c, q WHERE c.id = ANY(CAST(:ids AS uuid[]))"
)
_SNIPPETS_SQL = compiled(_SNIPPETS)

_ABOVE_ALL_RANKS = float("inf")


@dataclass(frozen=True, slots=True)
class Hit:
    """A chat found, with its rank."""

    chat: ChatRow
    rank: float


def _params(query: str, extra: str, chat_filter: ChatFilterValues) -> dict[str, object]:
    q2 = ChatFilterValues(query=extra).params()
    return {**chat_filter.params(), "q2": q2["q"], "prefix2": q2["prefix"], **_first(query)}


def _first(query: str) -> dict[str, object]:
    values = ChatFilterValues(query=query).params()
    return {"q": values["q"], "prefix": values["prefix"]}


async def search_chats(
    conn: Conn,
    caller: Identity,
    query: str,
    chat_filter: ChatFilterValues,
    *,
    after: tuple[float, object, uuid.UUID] | None,
    limit: int,
) -> Page[Hit]:
    """Visible chats of the caller's tenant matching ``query`` (and ``chat_filter.query``), best first."""
    k_rank, k_at, k_id = after or (_ABOVE_ALL_RANKS, TOP_TIME, TOP_ID)
    params = {
        **_params(query, chat_filter.query, chat_filter),
        "tenant": caller.tenant_id,
        "user": caller.user_id,
        "k_rank": k_rank,
        "k_at": k_at,
        "k_id": k_id,
        "limit": limit + 1,
    }
    rows = await (await conn.execute(_SEARCH_SQL, params)).fetchall()
    total = int(rows[0].total) if rows else 0
    hits = [Hit(ChatRow.of(r), float(r.rank)) for r in rows if r.id is not None]
    return cut(hits, total, limit)


async def snippets(conn: Conn, query: str, extra: str, chat_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """A highlighted snippet per chat: its best-matching message, else its title, tags and description."""
    if not chat_ids:
        return {}
    params = {**_params(query, extra, ChatFilterValues()), "ids": chat_ids}
    # Never prepared: PostgreSQL's generic plan for this statement (chosen after five runs of a prepared one) cannot
    # see the page's ids and the query, and took 55 ms instead of 3 ms on 1 M messages; planning costs ~0.4 ms.
    rows = await (await conn.execute(_SNIPPETS_SQL, params, prepare=False)).fetchall()
    return {r.id: str(r.snippet or "") for r in rows}
