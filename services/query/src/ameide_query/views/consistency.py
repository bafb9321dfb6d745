"""Read-your-writes: how far the projection has applied each stream, and the bounded wait for a token's streams.

The unary reads and the live streams both wait here before they read (a token from a write names its streams).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Collection

from sqlalchemy import text

from ameide_pg.pool import Conn
from ameide_pg.statements import compiled
from ameide_query.views.db import ReadPool
from ameide_runtime import consistency
from ameide_runtime.errors import FieldViolation, InvalidArgument, Unavailable
from ameide_runtime.tokens import InvalidToken, TokenCodec

_APPLIED = text("SELECT stream_id, version FROM rm_stream_versions WHERE stream_id = ANY(CAST(:ids AS uuid[]))")
_APPLIED_SQL = compiled(_APPLIED)
# Polling the applied versions: start fast (the projector usually needs a few ms), back off to this.
_MAX_POLL_SECONDS = 0.05
_RETRY_AFTER_MS = 250


async def applied_versions(conn: Conn, stream_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The projected version of each stream (absent = nothing projected yet)."""
    rows = await (await conn.execute(_APPLIED_SQL, {"ids": list(stream_ids)})).fetchall()
    return {row.stream_id: int(row.version) for row in rows}


class ConsistencyWaiter:
    """Waits (bounded) until the read model has applied the stream versions a consistency token names."""

    def __init__(self, db: ReadPool, codec: TokenCodec, *, wait_ms: int) -> None:
        self._db = db
        self._codec = codec
        self._wait_seconds = wait_ms / 1000

    async def wait(self, token: str, *, field: str = "consistency_token") -> None:
        """Return once every named stream is applied; UNAVAILABLE (with a retry hint) after the bounded wait."""
        if not token:
            return
        try:
            needed = consistency.decode(self._codec, token)
        except InvalidToken as exc:
            raise InvalidArgument(FieldViolation(field, "not a valid consistency token")) from exc
        if not needed:
            return
        deadline = time.monotonic() + self._wait_seconds
        delay = 0.002
        while True:
            async with self._db.connection() as conn:
                applied = await applied_versions(conn, needed.keys())
            if all(applied.get(stream, 0) >= version for stream, version in needed.items()):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unavailable(
                    "the read model has not caught up with this write yet; retry shortly",
                    reason="NOT_YET_CONSISTENT",
                    retry_after_ms=_RETRY_AFTER_MS,
                )
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, _MAX_POLL_SECONDS)
