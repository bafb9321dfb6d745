"""The read connections of the query service: a small pool of psycopg connections, and statement compilation.

Unary reads are one or two statements each, so the per-call cost of the client stack shows directly in latency.
Measured at concurrency 8, SQLAlchemy's async execution path made GetMessages 3-8x slower than the same statement
on a bare psycopg connection; this pool (an asyncio queue of autocommit connections with prepared statements)
costs about nothing. Statements stay SQLAlchemy ``text()`` constants in the view modules and are compiled once to
psycopg's placeholder style here. The live-update streams keep using the SQLAlchemy engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg.abc import Buffer
from psycopg.rows import namedtuple_row
from psycopg.types.array import ListBinaryDumper
from psycopg.types.json import JsonbLoader
from sqlalchemy import TextClause
from sqlalchemy.dialects.postgresql import psycopg as sa_psycopg

Conn = psycopg.AsyncConnection[Any]

_DIALECT = sa_psycopg.dialect()  # type: ignore[no-untyped-call]


def compiled(statement: TextClause) -> str:
    """``statement`` with psycopg placeholders (``%(name)s``)."""
    return str(statement.compile(dialect=_DIALECT))


def libpq_url(url: str) -> str:
    """A libpq URL from an SQLAlchemy one (``postgresql+psycopg://`` -> ``postgresql://``)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


_EMPTY_OBJECT = b"{}"


class _LabelsLoader(JsonbLoader):
    """jsonb, with the common empty object answered without the JSON parser.

    Most chats and artifacts have no labels; ``json.loads`` took about 5 us per row for ``{}``, a tenth of a
    ListChats page's row handling.
    """

    def load(self, data: Buffer) -> Any:  # noqa: ANN401 - any JSON value
        raw = data if isinstance(data, bytes) else bytes(data)
        return {} if raw == _EMPTY_OBJECT else json.loads(raw)


class ReadPool:
    """Up to ``size`` autocommit connections, opened on demand and reused; broken ones are dropped and replaced."""

    def __init__(self, url: str, *, size: int) -> None:
        self._url = libpq_url(url)
        self._size = size
        self._idle: asyncio.Queue[Conn] = asyncio.Queue()
        self._opened = 0
        self._closed = False
        # One permit per connection that may exist: a dropped connection frees its permit, so a waiter opens a new
        # one instead of waiting forever for a connection that will never come back (e.g. after a database crash).
        self._permits = asyncio.Semaphore(size)

    async def _open(self) -> Conn:
        conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True, row_factory=namedtuple_row)
        # Binary arrays: no per-element text escaping for id lists.
        conn.adapters.register_dumper(list, ListBinaryDumper)
        conn.adapters.register_loader("jsonb", _LabelsLoader)
        return conn

    async def _acquire(self) -> Conn:
        if self._closed:
            raise psycopg.OperationalError("the read pool is closed")
        await self._permits.acquire()
        if not self._idle.empty():
            return self._idle.get_nowait()
        self._opened += 1
        try:
            return await self._open()
        except BaseException:
            self._opened -= 1
            self._permits.release()
            raise

    def _release(self, conn: Conn) -> None:
        if (
            self._closed
            or conn.closed
            or conn.broken
            or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        ):
            self._opened -= 1
            self._permits.release()
            task = asyncio.get_running_loop().create_task(conn.close())
            task.add_done_callback(lambda done: done.exception())  # closing a broken connection may fail: ignore
            return
        self._idle.put_nowait(conn)
        self._permits.release()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """A connection for the block (one or a few statements, autocommit)."""
        conn = await self._acquire()
        try:
            yield conn
        finally:
            self._release(conn)

    async def close(self) -> None:
        """Close every idle connection; connections in use are closed when released."""
        self._closed = True
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            self._opened -= 1
            with contextlib.suppress(psycopg.Error):
                await conn.close()
