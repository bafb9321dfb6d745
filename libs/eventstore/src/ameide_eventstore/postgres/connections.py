"""A small pool of autocommit psycopg connections for the store's hot path (append, load_states, idempotency).

Every command checks a connection out once or more. Through SQLAlchemy's pool (greenlet hand-offs, the
connection fairy, reset-on-return) a checkout and return cost ~90 us CPU; this pool (an asyncio queue of
connections that stay in autocommit mode) costs about nothing. It is optional: ``PostgresEventStore`` uses it
when given one (the command deployable does, and closes it), else it checks out from the engine as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import make_url

Conn = psycopg.AsyncConnection[Any]

DEFAULT_TIMEOUT_SECONDS = 30.0  # as SQLAlchemy's pool_timeout: waiting longer than this for a connection fails


def libpq_url(url: str) -> str:
    """A libpq URL from an SQLAlchemy one (``postgresql+psycopg://`` -> ``postgresql://``), password kept."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class ConnectionPool:
    """Up to ``size`` autocommit connections in use at once, opened on demand and reused; broken ones are dropped.

    Args:
        url: SQLAlchemy or libpq URL of the database.
        size: Most connections in use at once; further callers wait for one to be returned.
        timeout: Seconds a caller waits for a connection before ``TimeoutError``.
    """

    def __init__(self, url: str, *, size: int, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        if size < 1:
            raise ValueError("a connection pool needs at least one connection")
        self._url = libpq_url(url)
        self._size = size
        self._timeout = timeout
        self._slots = asyncio.Semaphore(size)
        self._idle: list[Conn] = []  # a stack: the most recently used connection is the warmest
        self._closed = False

    @property
    def size(self) -> int:
        """Most connections in use at once."""
        return self._size

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """A connection for the block, returned idle (what a failure left open is rolled back) or discarded."""
        if self._closed:
            raise psycopg.OperationalError("the event store's connection pool is closed")
        if self._slots.locked():
            async with asyncio.timeout(self._timeout):
                await self._slots.acquire()
        else:
            await self._slots.acquire()  # a free slot: no wait, and no timer to schedule and cancel
        try:
            conn = self._idle.pop() if self._idle else await psycopg.AsyncConnection.connect(self._url, autocommit=True)
            try:
                yield conn
            except BaseException as error:
                # Broken, or cancelled mid-statement (its state unknown): never hand it to the next caller.
                if conn.broken or conn.closed or isinstance(error, asyncio.CancelledError):
                    _discard(conn)
                    raise
                await self._settle(conn)
                raise
            await self._settle(conn)
        finally:
            self._slots.release()

    async def _settle(self, conn: Conn) -> None:
        try:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                await conn.rollback()
        except BaseException:
            _discard(conn)
            raise
        if self._closed or conn.broken or conn.info.transaction_status != TransactionStatus.IDLE:
            _discard(conn)
        else:
            self._idle.append(conn)

    async def close(self) -> None:
        """Close every idle connection; connections in use are closed when returned."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(psycopg.Error):
                await conn.close()


def _discard(conn: Conn) -> None:
    task = asyncio.get_running_loop().create_task(conn.close())
    task.add_done_callback(lambda done: done.cancelled() or done.exception())  # closing a broken one may fail
