"""A small pool of autocommit psycopg connections, for the paths where every microsecond of a checkout counts.

Through SQLAlchemy's pool (greenlet hand-offs, the connection fairy, reset-on-return) a checkout and return cost
about 90 us of CPU, and SQLAlchemy's async execution made single-statement reads several times slower than the
same statement on a bare psycopg connection. This pool (a stack of idle connections behind a semaphore) costs
about nothing. The event store's hot path (append, stream heads, idempotency) and the query service's reads use
it; statements come from ``ameide_pg.statements``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from ameide_pg.urls import libpq_url

Conn = psycopg.AsyncConnection[Any]

DEFAULT_TIMEOUT_SECONDS = 30.0  # as SQLAlchemy's pool_timeout: waiting longer than this for a connection fails


class ConnectionPool:
    """Up to ``size`` autocommit connections in use at once, opened on demand and reused; broken ones are dropped.

    A dropped connection frees its slot at once, so a caller waiting for a connection opens a fresh one instead of
    waiting for a connection that will never come back (after a database crash, say).

    Args:
        url: SQLAlchemy or libpq URL of the database.
        size: Most connections in use at once; further callers wait for one to be returned.
        timeout: Seconds a caller waits for a connection before ``TimeoutError`` (``None``: as long as it takes).
        configure: Called once on each new connection (row factory, type adapters).
        connection_class: The psycopg connection class to open (a subclass may keep per-connection state).
    """

    def __init__(
        self,
        url: str,
        *,
        size: int,
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        configure: Callable[[Conn], None] | None = None,
        connection_class: type[Conn] = psycopg.AsyncConnection,
    ) -> None:
        if size < 1:
            raise ValueError("a connection pool needs at least one connection")
        self._url = libpq_url(url)
        self._size = size
        self._timeout = timeout
        self._configure = configure
        self._connection_class = connection_class
        self._slots = asyncio.Semaphore(size)
        self._idle: list[Conn] = []  # a stack: the most recently used connection is the warmest
        self._closed = False

    @property
    def size(self) -> int:
        """Most connections in use at once."""
        return self._size

    def connection(self) -> Checkout:
        """A connection for the block, returned idle (what a failure left open is rolled back) or discarded."""
        return Checkout(self)

    async def _acquire(self) -> Conn:
        if self._closed:
            raise psycopg.OperationalError("the connection pool is closed")
        if self._slots.locked() and self._timeout is not None:
            async with asyncio.timeout(self._timeout):
                await self._slots.acquire()
        else:
            await self._slots.acquire()  # a free slot (or no time limit): no timer to schedule and cancel
        try:
            return self._idle.pop() if self._idle else await self._open()
        except BaseException:
            self._slots.release()
            raise

    async def _release(self, conn: Conn, error: BaseException | None) -> None:
        try:
            if error is None and not self._closed and _idle_and_usable(conn):
                self._idle.append(conn)  # the usual case: nothing to await
                return
            # Broken, or cancelled mid-statement (its state unknown): never hand it to the next caller.
            if error is not None and (conn.broken or conn.closed or isinstance(error, asyncio.CancelledError)):
                _discard(conn)
                return
            await self._settle(conn)
        finally:
            self._slots.release()

    async def _open(self) -> Conn:
        conn = await self._connection_class.connect(self._url, autocommit=True)
        if self._configure is not None:
            self._configure(conn)
        return conn

    async def _settle(self, conn: Conn) -> None:
        """Keep ``conn`` for the next caller if it is open and idle (rolled back if need be), else discard it."""
        try:
            if not _usable(conn):  # closed under the caller (a database crash): nothing to roll back
                _discard(conn)
                return
            if conn.info.transaction_status != TransactionStatus.IDLE:
                await conn.rollback()
        except BaseException:
            _discard(conn)
            raise
        if self._closed or not _usable(conn) or conn.info.transaction_status != TransactionStatus.IDLE:
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


def _usable(conn: Conn) -> bool:
    return not (conn.closed or conn.broken)


def _idle_and_usable(conn: Conn) -> bool:
    """Open, not broken, and outside any transaction (libpq's own status, no ``ConnectionInfo`` built)."""
    return conn.pgconn.transaction_status == TransactionStatus.IDLE and not conn.broken


class Checkout:
    """``async with pool.connection() as conn``: one object per checkout, no generator or context-manager layers.

    An ``asynccontextmanager`` costs an async generator and its frames per checkout; this is a plain object whose
    ``__aenter__`` / ``__aexit__`` call the pool directly (a read's checkout is a measurable share of its CPU).
    """

    __slots__ = ("_conn", "_pool")

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    async def __aenter__(self) -> Conn:
        self._conn = conn = await self._pool._acquire()  # noqa: SLF001 - the pool's own checkout object
        return conn

    async def __aexit__(
        self, _type: type[BaseException] | None, error: BaseException | None, _traceback: TracebackType | None
    ) -> None:
        await self._pool._release(self._conn, error)  # noqa: SLF001 - the pool's own checkout object


def _discard(conn: Conn) -> None:
    task = asyncio.get_running_loop().create_task(conn.close())
    task.add_done_callback(lambda done: done.cancelled() or done.exception())  # closing a broken one may fail
