"""What every query handler needs: id parsing and keyset values in tokens.

The read-your-writes wait is ``ameide_query.views.consistency.ConsistencyWaiter``, shared with the live streams.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ameide_runtime.errors import FieldViolation, InvalidArgument


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
