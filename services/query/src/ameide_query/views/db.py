"""The read connections of the query service: the shared connection pool, set up for reads.

Unary reads are one or two statements each, so the per-call cost of the client stack shows directly in latency:
measured at concurrency 8, SQLAlchemy's async execution path made GetMessages 3-8x slower than the same statement
on a bare psycopg connection. Statements stay SQLAlchemy ``text()`` constants in the view modules, compiled once
(``ameide_pg.statements.compiled``); rows come back as named tuples.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg import AsyncCursor
from psycopg.abc import Buffer
from psycopg.rows import namedtuple_row, tuple_row
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


class ReadConnection(psycopg.AsyncConnection[Any]):
    """A read-pool connection, with one cursor of plain tuples kept for the hottest reads.

    A new cursor per statement starts with empty adaptation caches (its parameters' dumpers are looked up again)
    and is built and torn down each time: about 10 us a read. The kept cursor holds its last result until its next
    statement (at most a page, bounded by the pages' byte caps, per connection).
    """

    _tuples: AsyncCursor[tuple[Any, ...]] | None = None

    def tuple_cursor(self) -> AsyncCursor[tuple[Any, ...]]:
        """This connection's cursor of plain tuples (one statement at a time: fetch before the next execute)."""
        cursor = self._tuples
        if cursor is None or cursor.closed:
            cursor = self._tuples = self.cursor(row_factory=tuple_row)
        return cursor


def tuple_cursor(conn: Conn) -> AsyncCursor[tuple[Any, ...]]:
    """A cursor of plain tuples on ``conn``: the connection's kept one on a read-pool connection, else a new one."""
    if isinstance(conn, ReadConnection):
        return conn.tuple_cursor()
    return conn.cursor(row_factory=tuple_row)


class ReadPool(ConnectionPool):
    """Up to ``size`` read connections (named-tuple rows); a caller waits up to ``timeout`` seconds (None: no limit)."""

    def __init__(self, url: str, *, size: int, timeout: float | None = None) -> None:
        super().__init__(url, size=size, timeout=timeout, configure=_for_reads, connection_class=ReadConnection)
