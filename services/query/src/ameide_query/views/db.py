"""The read connections of the query service: the shared connection pool, set up for reads.

Unary reads are one or two statements each, so the per-call cost of the client stack shows directly in latency:
measured at concurrency 8, SQLAlchemy's async execution path made GetMessages 3-8x slower than the same statement
on a bare psycopg connection. Statements stay SQLAlchemy ``text()`` constants in the view modules, compiled once
(``ameide_pg.statements.compiled``); rows come back as named tuples.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg.abc import Buffer
from psycopg.rows import namedtuple_row
from psycopg.types.array import ListBinaryDumper
from psycopg.types.json import JsonbLoader

from ameide_pg.pool import Conn, ConnectionPool

_EMPTY_OBJECT = b"{}"


class _LabelsLoader(JsonbLoader):
    """jsonb, with the common empty object answered without the JSON parser.

    Most chats and artifacts have no labels; ``json.loads`` took about 5 us per row for ``{}``, a tenth of a
    ListChats page's row handling.
    """

    def load(self, data: Buffer) -> Any:  # noqa: ANN401 - any JSON value
        raw = data if isinstance(data, bytes) else bytes(data)
        return {} if raw == _EMPTY_OBJECT else json.loads(raw)


def _for_reads(conn: Conn) -> None:
    conn.row_factory = namedtuple_row
    # Binary arrays: no per-element text escaping for id lists.
    conn.adapters.register_dumper(list, ListBinaryDumper)
    conn.adapters.register_loader("jsonb", _LabelsLoader)


class ReadPool(ConnectionPool):
    """Up to ``size`` read connections (named-tuple rows); a caller waits up to ``timeout`` seconds (None: no limit)."""

    def __init__(self, url: str, *, size: int, timeout: float | None = None) -> None:
        super().__init__(url, size=size, timeout=timeout, configure=_for_reads)
