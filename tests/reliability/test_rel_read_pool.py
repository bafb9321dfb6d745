"""Regression: the query service's read pool must not strand a waiting request when its connections break.

Found while crashing PostgreSQL under load: a request waiting for a pooled connection was never woken when the
busy connections were dropped as broken (nothing came back to the queue), so it hung until its deadline, or
forever without one. Each dropped connection now frees a permit, and the waiter opens a fresh connection.
"""

from __future__ import annotations

import asyncio

import pytest

from ameide_query.views.db import ReadPool

pytestmark = pytest.mark.reliability


async def test_a_waiter_gets_a_new_connection_when_the_busy_one_breaks(rel_database_url: str) -> None:
    """Pool of one: the only connection breaks while another request waits; the waiter is served."""
    pool = ReadPool(rel_database_url, size=1)

    async def one_query() -> int:
        async with pool.connection() as conn:
            return int((await (await conn.execute("SELECT 1")).fetchone())[0])  # type: ignore[index]

    try:
        async with pool.connection() as held:
            waiter = asyncio.create_task(one_query())
            for _ in range(10):  # let the waiter run until it blocks on the full pool
                await asyncio.sleep(0)
            assert not waiter.done()
            await held.close()  # as a database crash leaves it: closed, dropped on release
        async with asyncio.timeout(30):  # a guard against the hang this test is about, not a timing assertion
            assert await waiter == 1
    finally:
        await pool.close()


async def test_a_failed_open_gives_its_permit_back(rel_database_url: str) -> None:
    """Opening a connection that fails (server unreachable) does not shrink the pool for good."""
    pool = ReadPool(rel_database_url.replace("/ameide_rel_", "/no_such_db_"), size=1)
    for _ in range(3):
        with pytest.raises(Exception, match="no_such_db_"):
            async with pool.connection():
                pass
    await pool.close()
