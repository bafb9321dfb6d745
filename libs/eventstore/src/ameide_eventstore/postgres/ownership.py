"""Shard ownership for outbox workers: session advisory locks held on one dedicated connection.

Each worker holds one *membership* lock (so live workers can be counted from ``pg_locks``, and a dead worker
disappears the moment its connection closes: no heartbeat timeouts to tune) and one lock per owned shard. A worker
aims for ``ceil(shards / live workers)`` shards: it releases extras and claims free shards until it reaches that.
The locks live on a connection outside the batch pool because session locks follow the connection, not the task.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable
from typing import Any

import psycopg
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

# Two-key advisory locks (namespace, value); any fixed positive int4 works as long as every worker agrees.
SHARD_LOCK_NAMESPACE = 0x616D6531
MEMBER_LOCK_NAMESPACE = 0x616D6532

# Locks of this database only (advisory locks are per database) and of the two-int4 form (objsubid = 2).
_HELD = """
SELECT pid, objid::int AS value FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = %(ns)s::int::oid
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
_TRY_LOCK = "SELECT s FROM unnest(%(values)s::int[]) AS s WHERE pg_try_advisory_lock(%(ns)s, s)"
_UNLOCK = "SELECT pg_advisory_unlock(%(ns)s, s) FROM unnest(%(values)s::int[]) AS s"

_MAX_MEMBER_SLOT = 2**31 - 1

# A lock connection that silently died (no RST) must be noticed in seconds, not after TCP's ~15 minutes: the
# worker then drops its shards at once, and FOR UPDATE on the outbox keeps any overlap exactly-once meanwhile.
_KEEPALIVE: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}


class ShardOwnership:
    """The shards this worker owns, kept in balance with the other live workers.

    Args:
        conninfo: libpq URL of the database.
        shard_count: Number of virtual shards.
        stop: Checked while reconnecting, so shutdown is never stuck behind a dead database.
    """

    def __init__(self, conninfo: str, *, shard_count: int, stop: Callable[[], bool]) -> None:
        self._conninfo = conninfo
        self._shard_count = shard_count
        self._stop = stop
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self.owned: frozenset[int] = frozenset()
        self.members = 0

    async def rebalance(self) -> frozenset[int]:
        """Count live workers, release shards above the fair share, claim free ones below it.

        A broken lock connection means every lock is already gone: the shards are dropped at once and the
        connection is re-established with jittered backoff.
        """
        try:
            conn = self._conn or await self._connect()
            await self._balance(conn)
        except (psycopg.OperationalError, psycopg.InterfaceError, OSError):
            await self.close()
        return self.owned

    async def _balance(self, conn: psycopg.AsyncConnection[Any]) -> None:
        members = {row[0] for row in await _fetch(conn, _HELD, {"ns": MEMBER_LOCK_NAMESPACE})}
        self.members = max(len(members), 1)
        target = math.ceil(self._shard_count / self.members)
        owned = sorted(self.owned)
        if len(owned) > target:
            extra = owned[target:]
            await _fetch(conn, _UNLOCK, {"ns": SHARD_LOCK_NAMESPACE, "values": extra})
            self.owned = frozenset(owned[:target])
        elif len(owned) < target:
            taken = {row[1] for row in await _fetch(conn, _HELD, {"ns": SHARD_LOCK_NAMESPACE})}
            free = [s for s in range(self._shard_count) if s not in taken and s not in self.owned]
            # Random picks keep workers that claim at the same moment from contending for the same shards.
            wanted = random.sample(free, min(len(free), target - len(owned)))
            if wanted:
                got = await _fetch(conn, _TRY_LOCK, {"ns": SHARD_LOCK_NAMESPACE, "values": wanted})
                self.owned = self.owned | {row[0] for row in got}

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        self.owned = frozenset()
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((psycopg.OperationalError, OSError)),
            wait=wait_exponential_jitter(multiplier=0.1, max=5.0, jitter=0.5),
            stop=self._stop_retrying,
            reraise=True,
        ):
            with attempt:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True, **_KEEPALIVE)
        # One membership lock per worker; a random slot avoids coordination (a clash just picks another).
        while not await _try_member_lock(conn):
            pass
        self._conn = conn
        return conn

    def _stop_retrying(self, _state: RetryCallState) -> bool:
        return self._stop()

    async def close(self) -> None:
        """Drop the connection: Postgres releases every session lock it held."""
        conn, self._conn = self._conn, None
        self.owned = frozenset()
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()


async def _try_member_lock(conn: psycopg.AsyncConnection[Any]) -> bool:
    slot = random.randint(0, _MAX_MEMBER_SLOT)  # noqa: S311 - not security
    rows = await _fetch(conn, _TRY_LOCK, {"ns": MEMBER_LOCK_NAMESPACE, "values": [slot]})
    return bool(rows)


async def _fetch(conn: psycopg.AsyncConnection[Any], query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    async with conn.cursor() as cursor:
        await cursor.execute(query, params)
        return await cursor.fetchall()
