"""Read-your-writes: how far the projection has applied each stream."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import text

from ameide_pg.pool import Conn
from ameide_pg.statements import compiled

_APPLIED = text("SELECT stream_id, version FROM rm_stream_versions WHERE stream_id = ANY(CAST(:ids AS uuid[]))")
_APPLIED_SQL = compiled(_APPLIED)


async def applied_versions(conn: Conn, stream_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The projected version of each stream (absent = nothing projected yet)."""
    rows = await (await conn.execute(_APPLIED_SQL, {"ids": list(stream_ids)})).fetchall()
    return {row.stream_id: int(row.version) for row in rows}
