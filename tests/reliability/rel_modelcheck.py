"""The auditor's view of the read side: the read model against a fresh rebuild, rm_feed, Redis, and queries."""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

import grpc
import grpc.aio
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from ameide_eventstore.postgres import PostgresEventStore
from ameide_projector.rebuild import Rebuild
from ameide_readmodel.feed import keys
from ameide_readmodel.schema import REBUILT_TABLES
from tests.reliability.rel_client import Stubs
from tests.reliability.rel_load import Ledger, Op

_OUTBOX = sa.text("SELECT count(*) FROM es_outbox")
_DEAD = sa.text("SELECT count(*) FROM es_dead_letters")
_DEAD_SAMPLE = sa.text("SELECT global_position, event_type, left(error, 400) AS error FROM es_dead_letters LIMIT 5")
_UNPUBLISHED = sa.text("SELECT count(*) FROM rm_feed_heads WHERE published_seq < seq")
_GAPPY = sa.text(
    "SELECT feed_key, count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM rm_feed GROUP BY feed_key "
    "HAVING count(*) <> max(seq) - min(seq) + 1 OR min(seq) <> 1"
)
_HEADS = sa.text(
    "SELECT h.feed_key, h.seq, h.published_seq, f.hi FROM rm_feed_heads h LEFT JOIN "
    "(SELECT feed_key, max(seq) AS hi FROM rm_feed GROUP BY feed_key) f ON f.feed_key = h.feed_key "
    "WHERE f.hi IS DISTINCT FROM h.seq OR h.published_seq > h.seq"
)
_CHAT_FEEDS = sa.text(
    "SELECT feed_key, seq, payload FROM rm_feed WHERE feed_key LIKE 'thread:%' ORDER BY feed_key, seq"
)
_MESSAGES = sa.text("SELECT chat_id, id FROM rm_messages ORDER BY chat_id, seq")
_DELETED = sa.text("SELECT id FROM rm_chats WHERE deleted")
_FEED_HEAD = sa.text("SELECT seq FROM rm_feed_heads WHERE feed_key = :feed")
_FEED_ENTRY = sa.text("SELECT payload FROM rm_feed WHERE feed_key = :feed AND seq = :seq")
_PUBLISHED_HEADS = sa.text("SELECT feed_key, seq FROM rm_feed_heads WHERE published_seq = seq ORDER BY feed_key")


async def _count(engine: AsyncEngine, stmt: sa.TextClause) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())


async def wait_drained(engine: AsyncEngine, *, redis_up: bool, within: float = 120.0) -> list[str]:
    """Wait (bounded) until the projector has applied every event (and, with Redis, published every update)."""
    deadline = time.monotonic() + within
    while True:
        outbox = await _count(engine, _OUTBOX)
        unpublished = await _count(engine, _UNPUBLISHED) if redis_up else 0
        if outbox == 0 and unpublished == 0:
            break
        if time.monotonic() > deadline:
            return [f"after {within}s: {outbox} outbox rows left, {unpublished} feeds not published to Redis"]
        await asyncio.sleep(0.1)
    dead = await _count(engine, _DEAD)
    if not dead:
        return []
    async with engine.connect() as conn:
        sample = (await conn.execute(_DEAD_SAMPLE)).fetchall()
    return [f"{dead} events parked as dead letters"] + [
        f"parked {row.event_type} at {row.global_position}: {row.error}" for row in sample
    ]


async def _table_diff(conn: AsyncConnection, table: sa.Table, build: str) -> list[str]:
    columns = ", ".join(f'"{c.name}"' for c in table.c)
    problems = []
    for left, right, label in (("public", build, "only in the live model"), (build, "public", "only in the rebuild")):
        # Identifiers come from our own Table objects and the rebuild's checked schema name.
        stmt = sa.text(
            f'SELECT {columns} FROM {left}."{table.name}" EXCEPT ALL SELECT {columns} FROM {right}."{table.name}"'  # noqa: S608
        )
        rows = (await conn.execute(stmt)).fetchall()
        problems += [f"{table.name} {label}: {str(tuple(row))[:300]}" for row in rows[:3]]
        if len(rows) > 3:
            problems.append(f"{table.name} {label}: ... {len(rows)} rows in all")
    return problems


async def compare_with_rebuild(engine: AsyncEngine) -> list[str]:
    """Replay the whole log into a fresh schema with the projector's rebuild code; compare every row."""
    rebuild = Rebuild(engine, PostgresEventStore(engine), batch_size=2000)
    await rebuild.create()
    try:
        await rebuild.replay()
        problems = [f"rebuild skipped {rebuild.report.skipped} events"] if rebuild.report.skipped else []
        async with engine.connect() as conn:
            for table in REBUILT_TABLES:
                problems += await _table_diff(conn, table, rebuild.report.build_schema)
        return problems
    finally:
        await rebuild.drop(rebuild.report.build_schema)


async def check_feed(engine: AsyncEngine) -> list[str]:
    """Gapless feeds whose heads match, and exactly one live update per message, in message order."""
    async with engine.connect() as conn:
        problems = [f"feed {r.feed_key}: {r.n} entries for {r.lo}..{r.hi}" for r in await conn.execute(_GAPPY)]
        problems += [
            f"feed head {r.feed_key}: head {r.seq}, published {r.published_seq}, newest entry {r.hi}"
            for r in await conn.execute(_HEADS)
        ]
        in_feed: dict[str, list[str]] = collections.defaultdict(list)
        for row in await conn.execute(_CHAT_FEEDS):
            update = chat.ChatUpdate.FromString(row.payload)
            if update.WhichOneof("update") == "message":
                in_feed[row.feed_key.removeprefix("thread:")].append(update.message.id)
        stored: dict[str, list[str]] = collections.defaultdict(list)
        for row in await conn.execute(_MESSAGES):
            stored[str(row.chat_id)].append(str(row.id))
    for chat_id in set(in_feed) | set(stored):
        if in_feed.get(chat_id, []) != stored.get(chat_id, []):
            fed, kept = in_feed.get(chat_id, []), stored.get(chat_id, [])
            problems.append(f"chat {chat_id}: {len(fed)} message updates in its feed for {len(kept)} messages")
    return problems


async def check_redis(engine: AsyncEngine, redis_url: str, *, sample: int = 20) -> list[str]:
    """Every published feed's Redis stream ends at its head and holds the same payloads as rm_feed."""
    problems = []
    client = Redis.from_url(redis_url, socket_timeout=5)
    try:
        async with engine.connect() as conn:
            heads = (await conn.execute(_PUBLISHED_HEADS)).fetchall()
            for row in heads:
                entries: Any = await client.xrevrange(keys.stream_key(row.feed_key), count=sample)
                if not entries:
                    continue
                if keys.seq_of(entries[0][0]) != row.seq:
                    problems.append(f"redis {row.feed_key}: top {entries[0][0]!r}, head {row.seq}")
                for entry_id, fields in entries:
                    payload = await conn.execute(_FEED_ENTRY, {"feed": row.feed_key, "seq": keys.seq_of(entry_id)})
                    if payload.scalar_one_or_none() != fields.get(keys.FIELD_PAYLOAD):
                        problems.append(f"redis {row.feed_key} {entry_id!r}: payload differs from rm_feed")
    finally:
        await client.aclose()
    return problems


async def _walk(stubs: Stubs, op: Op) -> list[str] | None:
    ids: list[str] = []
    token = ""
    while True:
        request = chat.GetMessagesRequest(threads_id=op.chat_id, page_size=200, page_token=token)
        try:
            reply = await stubs.chat_reads.GetMessages(request, metadata=op.caller.metadata, timeout=30)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        ids += [m.id for m in reply.messages]
        token = reply.next_page_token
        if not token:
            return ids


async def check_visible(engine: AsyncEngine, stubs: Stubs, ledger: Ledger) -> list[str]:
    """Every acknowledged message is returned exactly once by a page walk of its chat (deleted chats excepted)."""
    async with engine.connect() as conn:
        deleted = {str(row.id) for row in await conn.execute(_DELETED)}
    by_chat: dict[str, list[Op]] = collections.defaultdict(list)
    for op in ledger.acked():
        if op.carries_message:
            by_chat[op.chat_id].append(op)
    problems = []
    for chat_id, ops in by_chat.items():
        if chat_id in deleted:
            continue
        seen = await _walk(stubs, ops[0])
        if seen is None:
            problems.append(f"chat {chat_id}: NOT_FOUND for its own writer")
            continue
        counts = collections.Counter(seen)
        problems += [
            f"chat {chat_id}: message {op.message_id} seen {counts[op.message_id]} times"
            for op in ops
            if counts[op.message_id] != 1
        ]
    return problems


async def feed_head(engine: AsyncEngine, feed: str) -> int:
    """The newest sequence of a feed (0 when it has none)."""
    async with engine.connect() as conn:
        return int((await conn.execute(_FEED_HEAD, {"feed": feed})).scalar_one_or_none() or 0)


async def feed_message_ids(engine: AsyncEngine, feed: str, after: int) -> list[str]:
    """Message ids of a chat feed's updates after ``after``, in feed order."""
    stmt = sa.text("SELECT payload FROM rm_feed WHERE feed_key = :feed AND seq > :after ORDER BY seq")
    async with engine.connect() as conn:
        rows = await conn.execute(stmt, {"feed": feed, "after": after})
        updates = [chat.ChatUpdate.FromString(row.payload) for row in rows]
    return [u.message.id for u in updates if u.WhichOneof("update") == "message"]
