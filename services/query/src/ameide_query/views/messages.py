"""A chat's messages by keyset on the per-chat sequence: one statement reads access facts, feed head and page.

One statement is one snapshot, so the feed head (the checkpoint token) matches the messages returned exactly;
pages never skip or repeat a message however many arrive meanwhile (the sequence only grows).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text

from ameide_pg.pool import Conn
from ameide_pg.statements import compiled
from ameide_query.views.db import tuple_cursor
from ameide_runtime.identity import Identity

# Readable by id: not deleted, and PUBLIC, or the caller's tenant and (TEAM or the caller's own).
_READABLE = "NOT c.deleted AND (c.visibility = 3 OR (c.tenant_id = :tenant AND (c.visibility = 2 OR c.owner = :user)))"


def _statement(order: str, bound: str) -> str:
    return (
        "SELECT c.message_count, (SELECT h.seq FROM rm_feed_heads AS h WHERE h.feed_key = :feed) AS feed_seq, "  # noqa: S608 - constant fragments
        "m.seq, m.payload FROM rm_chats AS c "
        f"LEFT JOIN LATERAL (SELECT seq, payload FROM rm_messages WHERE chat_id = c.id AND seq {bound} :after "
        f"ORDER BY seq {order} LIMIT :limit) AS m ON true "
        f"WHERE c.id = :id AND {_READABLE} ORDER BY m.seq {order}"
    )


OLDEST_FIRST = _statement("ASC", ">")
NEWEST_FIRST = _statement("DESC", "<")
_OLDEST_FIRST = text(OLDEST_FIRST)
_OLDEST_FIRST_SQL = compiled(_OLDEST_FIRST)
_NEWEST_FIRST = text(NEWEST_FIRST)
_NEWEST_FIRST_SQL = compiled(_NEWEST_FIRST)
_BEFORE_ALL = 1 << 62
# A page ends early once its messages pass this many bytes: 50 messages of up to 1 MiB would otherwise exceed the
# 8 MiB gRPC response limit (RESOURCE_EXHAUSTED, the chat unreadable). At least one message is always returned.
PAGE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class MessagePage:
    """Messages of one page, with the chat's message count and its feed head.

    ``payloads`` are the stored serialized ChatMessages, in page order: the reply merges them as they are, since
    decoding each into a message object and copying it into the reply cost twice as much (about 160 against 70 us
    per page of 50).
    """

    payloads: list[bytes]
    last_seq: int
    has_more: bool
    total: int
    feed_seq: int


async def messages_page(
    conn: Conn,
    caller: Identity,
    chat_id: uuid.UUID,
    feed: str,
    *,
    after_seq: int | None,
    limit: int,
    newest_first: bool,
) -> MessagePage | None:
    """One page of messages after ``after_seq`` in the requested order; ``None`` if the chat is not readable."""
    after = after_seq if after_seq is not None else (_BEFORE_ALL if newest_first else 0)
    params = {
        "id": chat_id,
        "feed": feed,
        "tenant": caller.tenant_id,
        "user": caller.user_id,
        "after": after,
        "limit": limit + 1,
    }
    # Plain tuples (message_count, feed_seq, seq, payload): a named tuple per row costs more than the rest of the
    # row handling here. Binary results: the payloads arrive as they are stored, where text results escape each
    # one as hex (PostgreSQL) and unescape it again (libpq), a sixth of a page's server instructions.
    cursor = tuple_cursor(conn)
    statement = _NEWEST_FIRST_SQL if newest_first else _OLDEST_FIRST_SQL
    rows = await (await cursor.execute(statement, params, binary=True)).fetchall()
    if not rows:
        return None
    head = rows[0]
    # No messages (after the position) is one row of NULLs from the outer join.
    found = rows if head[2] is not None else []
    payloads = _within_bytes([r[3] for r in found[:limit]])
    return MessagePage(
        payloads=payloads,
        last_seq=int(found[len(payloads) - 1][2]) if payloads else 0,
        has_more=len(found) > len(payloads),
        total=int(head[0]),
        feed_seq=int(head[1] or 0),
    )


def _within_bytes(payloads: list[bytes]) -> list[bytes]:
    """The leading payloads that fit in ``PAGE_BYTES`` (at least one)."""
    if sum(map(len, payloads)) <= PAGE_BYTES:  # the usual case, without a Python loop
        return payloads
    size = 0
    for count, payload in enumerate(payloads):
        size += len(payload)
        if count and size > PAGE_BYTES:
            return payloads[:count]
    return payloads
