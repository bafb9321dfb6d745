"""What every query handler needs: id parsing, keyset values in tokens, and the read-your-writes wait."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Any

from ameide_query.views.consistency import applied_versions
from ameide_query.views.db import ReadPool
from ameide_runtime import consistency
from ameide_runtime.errors import FieldViolation, InvalidArgument, Unavailable
from ameide_runtime.tokens import InvalidToken, TokenCodec

# Polling the applied versions: start fast (the projector usually needs a few ms), back off to this.
_MAX_POLL_SECONDS = 0.05
_RETRY_AFTER_MS = 250


def parse_id(value: str, field: str) -> uuid.UUID:
    """A required UUID field; INVALID_ARGUMENT naming ``field`` otherwise."""
    if not value:
        raise InvalidArgument(FieldViolation(field, "is required"))
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidArgument(FieldViolation(field, "must be a UUID")) from exc


def optional_id(value: str, field: str) -> uuid.UUID | None:
    """An optional UUID field (empty = ``None``)."""
    return parse_id(value, field) if value else None


def keyset(position: list[Any] | None, *parsers: type[Any]) -> tuple[Any, ...] | None:
    """Typed keyset values from a verified page token (``None`` on the first page)."""
    if position is None:
        return None
    if len(position) != len(parsers):
        raise _bad_token()
    try:
        return tuple(_parse(parser, value) for parser, value in zip(parsers, position, strict=True))
    except (TypeError, ValueError) as exc:
        raise _bad_token() from exc


def _parse(parser: type[Any], value: Any) -> Any:  # noqa: ANN401 - a JSON value in, a keyset value out
    if parser is dt.datetime:
        return dt.datetime.fromisoformat(str(value))
    if parser is uuid.UUID:
        return uuid.UUID(str(value))
    if parser is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("not an integer")
        return value
    if parser is float:
        return float(value)
    raise TypeError(parser)


def _bad_token() -> InvalidArgument:
    return InvalidArgument(FieldViolation("page_token", "not a valid page token"), reason="INVALID_PAGE_TOKEN")


def position(*values: object) -> list[Any]:
    """Keyset values as JSON-friendly token content."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, dt.datetime):
            out.append(value.isoformat())
        elif isinstance(value, uuid.UUID):
            out.append(str(value))
        else:
            out.append(value)
    return out


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
