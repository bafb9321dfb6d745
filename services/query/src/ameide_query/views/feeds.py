"""The head of a live-update feed (``rm_feed_heads``): how far it has grown."""

from __future__ import annotations

from sqlalchemy import text

from ameide_pg.pool import Conn
from ameide_pg.statements import compiled

_HEAD = compiled(text("SELECT seq FROM rm_feed_heads WHERE feed_key = :feed_key"))


async def head(conn: Conn, feed_key: str) -> int:
    """The latest sequence of a feed (0 when it has none yet)."""
    row = await (await conn.execute(_HEAD, {"feed_key": feed_key})).fetchone()
    return int(row.seq) if row is not None else 0
