"""The append hot path on the psycopg connection under the SQLAlchemy pool (no per-statement framework cost).

A single-stream append, with or without an idempotency key, is ONE autocommit statement (one round trip), and so
is a new stream beside one other (``append_joined``). Any other multi-stream append is one short transaction (one
statement per stream in sorted id order, the first also claiming the key) sent as one pipeline: also one round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, cast

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_eventstore.errors import (
    ConcurrencyError,
    DuplicateEventError,
    EventStoreError,
    IdempotencyKeyReusedError,
    TenantMismatchError,
)
from ameide_eventstore.events import AppendResult, ExpectedVersion, IdempotentWrite, NewEvent, StreamAppend
from ameide_eventstore.postgres import append_sql as sql
from ameide_eventstore.postgres.translate import EVENT_ID_CONSTRAINT, STREAM_VERSION_CONSTRAINT, key_uuid
from ameide_eventstore.sharding import shard_of

Conn = psycopg.AsyncConnection[Any]
BeforeCommit = Callable[[], Awaitable[None]]


class ReplayedError(Exception):
    """Internal: the key holds an unexpired record, so this call replays it (never escapes the package)."""


def is_replay(error: psycopg.Error) -> bool:
    """The multi-stream claim found an unexpired record."""
    return error.sqlstate == sql.REPLAYED_SQLSTATE


@contextlib.asynccontextmanager
async def checkout(engine: AsyncEngine, *, autocommit: bool) -> AsyncIterator[Conn]:
    """The psycopg connection of a pooled SQLAlchemy connection, returned to the pool clean (idle, not autocommit)."""
    async with engine.connect() as pooled:
        conn = cast("Conn", (await pooled.get_raw_connection()).driver_connection)
        if autocommit:
            await conn.set_autocommit(True)
        try:
            yield conn
        except BaseException as error:
            # A broken connection, or one cancelled mid-statement, is not worth cleaning: discard it.
            if conn.broken or conn.closed or isinstance(error, asyncio.CancelledError):
                await pooled.invalidate()
                raise
            await _reset(conn, autocommit=autocommit)
            raise
        await _reset(conn, autocommit=autocommit)


async def _reset(conn: Conn, *, autocommit: bool) -> None:
    if conn.info.transaction_status != TransactionStatus.IDLE:
        with contextlib.suppress(psycopg.Error):
            await conn.rollback()
    if autocommit:
        await conn.set_autocommit(False)


def _kind(item: StreamAppend) -> sql.Head:
    expected = item.expected_version
    if expected == ExpectedVersion.NO_STREAM:
        return sql.Head.NEW
    if expected == ExpectedVersion.ANY:
        return sql.Head.ANY
    if expected == ExpectedVersion.STREAM_EXISTS:
        return sql.Head.EXISTING
    return sql.Head.COMMUTATIVE if item.commutative else sql.Head.EXACT


# One encoder for every append: ``json.dumps`` with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def _json(metadata: Any) -> str:  # noqa: ANN401 - a Mapping[str, str]
    return _ENCODER.encode(metadata if type(metadata) is dict else dict(metadata))


def _jsons(events: Sequence[NewEvent]) -> list[str]:
    """Each event's metadata as JSON; the events of one decision share one metadata mapping, encoded once."""
    encoded: list[str] = []
    last: object = None
    text = ""
    for event in events:
        if not encoded or event.metadata is not last:
            text = _json(event.metadata)
            last = event.metadata
        encoded.append(text)
    return encoded


def stream_params(item: StreamAppend, shard_count: int) -> dict[str, Any]:
    """Bind parameters of one stream's statement (scalars for one event, arrays for several)."""
    params: dict[str, Any] = {
        "stream_id": item.stream_id,
        "tenant_id": item.tenant_id,
        "stream_type": item.stream_type,
        "expected": item.expected_version,
        "n": len(item.events),
        "state": item.snapshot,
        "shard": shard_of(item.stream_id, shard_count),
    }
    if len(item.events) == 1:
        [event] = item.events
        params.update(
            event_id=event.event_id,
            event_type=event.event_type,
            schema_version=event.schema_version,
            payload=event.payload,
            metadata=_json(event.metadata),
        )
    else:
        params.update(
            event_ids=[e.event_id for e in item.events],
            event_types=[e.event_type for e in item.events],
            schema_versions=[e.schema_version for e in item.events],
            payloads=[e.payload for e in item.events],
            metadatas=_jsons(item.events),
        )
    return params


def claim_params(write: IdempotentWrite) -> dict[str, Any]:
    """Bind parameters of the idempotency claim."""
    key = write.key
    return {
        "i_tenant_id": key.tenant_id,
        "i_user_id": key.user_id,
        "i_key": key.key,
        "i_request_hash": write.request_hash,
        "i_response": write.response,
        "i_ttl": write.ttl,
    }


async def _row(conn: Conn, query: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    cursor = await conn.execute(query, params)
    return await cursor.fetchone()


async def append_single(
    conn: Conn, item: StreamAppend, idempotency: IdempotentWrite | None, shard_count: int
) -> AppendResult:
    """One stream, one autocommit statement (the idempotency claim folded in)."""
    params = stream_params(item, shard_count)
    claim = idempotency is not None
    if idempotency is not None:
        params.update(claim_params(idempotency))
    row = await _row(conn, sql.STATEMENTS[_kind(item), len(item.events) > 1, claim], params)
    if row is None:
        raise EventStoreError("append statement returned no row")
    if idempotency is not None:
        if row[0] is None:
            raise ReplayedError
        return _appended(idempotency.response, row[2], {item.stream_id: row[0]}, row[1])
    return _appended(b"", None, {item.stream_id: row[0]}, row[1])


def joinable(items: Sequence[StreamAppend]) -> bool:
    """Two streams, one of them new: one statement writes both (``append_sql.joined_statement`` says why)."""
    return len(items) == 2 and any(item.expected_version == ExpectedVersion.NO_STREAM for item in items)  # noqa: PLR2004


async def append_joined(
    conn: Conn, items: Sequence[StreamAppend], idempotency: IdempotentWrite | None, shard_count: int
) -> AppendResult:
    """Joinable streams (in sorted order), one autocommit statement (the idempotency claim folded in)."""
    params: dict[str, Any] = {}
    for n, item in enumerate(items):
        params.update({f"s{n}_{name}": value for name, value in stream_params(item, shard_count).items()})
    if idempotency is not None:
        params.update(claim_params(idempotency))
    shapes = tuple((_kind(item), len(item.events) > 1) for item in items)
    row = await _row(conn, sql.joined_statement(shapes, claim=idempotency is not None), params)
    if row is None:
        raise EventStoreError("append statement returned no row")
    count = len(items)
    versions = {item.stream_id: row[n] for n, item in enumerate(items)}
    if idempotency is None:
        return _appended(b"", None, versions, row[count])
    if row[0] is None:
        raise ReplayedError
    return _appended(idempotency.response, row[count + 1], versions, row[count])


async def append_in_transaction(
    conn: Conn,
    items: Sequence[StreamAppend],
    idempotency: IdempotentWrite | None,
    shard_count: int,
    before_commit: BeforeCommit | None,
) -> AppendResult:
    """Several streams: BEGIN, one statement per stream in sorted order (the first claims the key), COMMIT.

    All sent in one pipeline. Every guard (and a lost claim) raises on failure, so nothing queued after a failed
    guard runs and the transaction rolls back; without the test hook the whole append is a single round trip.
    """
    cursors = []
    async with conn.pipeline() as pipeline:
        await conn.execute("BEGIN")
        for index, item in enumerate(items):
            kind, many = _kind(item), len(item.events) > 1
            params = stream_params(item, shard_count)
            if index == 0 and idempotency is not None:
                params.update(claim_params(idempotency))
                query = sql.FIRST_CLAIMING[kind, many]
            else:
                query = sql.STATEMENTS[kind, many, False]
            cursors.append(await conn.execute(query, params))
        if before_commit is not None:
            await pipeline.sync()
            await before_commit()
        await conn.execute("COMMIT")
    rows = [row for cursor in cursors if (row := await cursor.fetchone()) is not None]
    expires_at = rows[0][2] if idempotency is not None else None
    versions = {item.stream_id: row[0] for item, row in zip(items, rows, strict=True)}
    response = idempotency.response if idempotency is not None else b""
    return _appended(response, expires_at, versions, max(row[1] for row in rows))


async def replay(conn: Conn, write: IdempotentWrite) -> AppendResult | None:
    """The stored response for a replayed key (None if it expired meanwhile: the caller appends again)."""
    row = await _row(conn, sql.STORED_RESPONSE, claim_params(write))
    await end(conn)
    if row is None:
        return None
    if bytes(row[0]) != write.request_hash:
        raise IdempotencyKeyReusedError(write.key.key)
    return AppendResult(replayed=True, response=bytes(row[1]), expires_at=row[2], versions={}, last_position=0)


async def explain(conn: Conn, error: psycopg.Error, items: Sequence[StreamAppend]) -> EventStoreError | None:
    """The event-store error a database error means (None: not an append outcome, e.g. a transient failure)."""
    await end(conn)
    if error.sqlstate == sql.CONFLICT_SQLSTATE:
        stream_id = key_uuid(error)
        return await conflict(conn, next((i for i in items if i.stream_id == stream_id), items[0]))
    if isinstance(error, psycopg.errors.UniqueViolation):
        constraint = error.diag.constraint_name
        if constraint == EVENT_ID_CONSTRAINT:
            return DuplicateEventError(key_uuid(error))
        if constraint == STREAM_VERSION_CONSTRAINT:
            stream_id = key_uuid(error)
            return await conflict(conn, next((i for i in items if i.stream_id == stream_id), items[0]))
    return None


async def conflict(conn: Conn, item: StreamAppend) -> EventStoreError:
    """ConcurrencyError with the actual version, or TenantMismatchError, for a stream whose guard failed."""
    row = await _row(conn, sql.STREAM_HEAD, {"stream_id": item.stream_id})
    await end(conn)
    if row is None:
        return ConcurrencyError(item.stream_id, item.expected_version, 0)
    if row[1] != item.tenant_id:
        return TenantMismatchError(f"stream {item.stream_id} belongs to another tenant")
    return ConcurrencyError(item.stream_id, item.expected_version, row[0])


def _appended(response: bytes, expires_at: Any, versions: dict[Any, int], last_position: int) -> AppendResult:  # noqa: ANN401
    return AppendResult(
        replayed=False, response=response, expires_at=expires_at, versions=versions, last_position=last_position
    )


async def end(conn: Conn) -> None:
    """Roll back what a failure left open (a failed pipelined transaction stays aborted until ROLLBACK)."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        await conn.rollback()
