"""PostgreSQL event store: one short transaction per append, one statement per stream."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ameide_eventstore.errors import (
    ConcurrencyError,
    DuplicateEventError,
    EventStoreError,
    IdempotencyKeyReusedError,
    TenantMismatchError,
)
from ameide_eventstore.events import (
    AppendResult,
    ExpectedVersion,
    IdempotencyKey,
    IdempotentWrite,
    RecordedEvent,
    StoredResponse,
    StreamAppend,
    StreamState,
)
from ameide_eventstore.postgres import statements as sql
from ameide_eventstore.postgres.translate import (
    EVENT_ID_CONSTRAINT,
    STREAM_VERSION_CONSTRAINT,
    constraint_name,
    key_uuid,
    transient_errors,
)
from ameide_eventstore.sharding import DEFAULT_SHARD_COUNT, shard_of
from ameide_eventstore.upcasting import Upcaster, Upcasters, as_upcasters
from ameide_eventstore.validation import check_appends

# Test-only seam: awaited inside the append transaction just before COMMIT (slow or failing writers).
BeforeCommit = Callable[[], Awaitable[None]]


class PostgresEventStore:
    """The production ``EventStore`` (SQLAlchemy Core on psycopg 3, async).

    Args:
        engine: Async engine on a ``postgresql+psycopg://`` URL.
        shard_count: Number of virtual outbox shards; must equal the consumers' setting.
        upcasters: Registry (or mapping) of upcasters applied when events are read.
        before_commit: Test-only hook awaited inside the append transaction before COMMIT.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        shard_count: int = DEFAULT_SHARD_COUNT,
        upcasters: Upcasters | Mapping[tuple[str, int], Upcaster] | None = None,
        before_commit: BeforeCommit | None = None,
    ) -> None:
        self._engine = engine
        self._shard_count = shard_count
        self._upcasters = as_upcasters(upcasters)
        self._before_commit = before_commit

    async def append(
        self, appends: Sequence[StreamAppend], *, idempotency: IdempotentWrite | None = None
    ) -> AppendResult:
        """See ``EventStore.append``."""
        # Sorted stream ids = one global lock order, so commands touching the same streams never deadlock.
        ordered = sorted(check_appends(appends), key=lambda item: item.stream_id)
        with transient_errors():
            async with self._engine.connect() as conn:
                try:
                    return await self._append(conn, ordered, idempotency)
                except sa_exc.IntegrityError as error:
                    await conn.rollback()
                    raise await _integrity_error(conn, error, ordered) from error

    async def _append(
        self, conn: AsyncConnection, appends: Sequence[StreamAppend], idempotency: IdempotentWrite | None
    ) -> AppendResult:
        expires_at = None
        if idempotency is not None:
            claim = (await conn.execute(sql.CLAIM_IDEMPOTENCY, _claim_params(idempotency))).first()
            if claim is None:
                return await _replay(conn, idempotency)
            expires_at = claim.expires_at
        versions: dict[uuid.UUID, int] = {}
        last_position = 0
        for item in appends:
            row = (await conn.execute(_statement(item.expected_version), self._append_params(item))).first()
            if row is None:
                raise await _conflict(conn, item)
            versions[item.stream_id] = row.version
            last_position = max(last_position, row.last_position)
        if self._before_commit is not None:
            await self._before_commit()
        await conn.commit()
        response = idempotency.response if idempotency is not None else b""
        return AppendResult(
            replayed=False, response=response, expires_at=expires_at, versions=versions, last_position=last_position
        )

    def _append_params(self, item: StreamAppend) -> dict[str, Any]:
        events = item.events
        return {
            "stream_id": item.stream_id,
            "tenant_id": item.tenant_id,
            "stream_type": item.stream_type,
            "expected": item.expected_version,
            "n": len(events),
            "state": item.snapshot,
            "shard": shard_of(item.stream_id, self._shard_count),
            "event_ids": [event.event_id for event in events],
            "event_types": [event.event_type for event in events],
            "schema_versions": [event.schema_version for event in events],
            "payloads": [event.payload for event in events],
            "metadatas": [json.dumps(dict(event.metadata), separators=(",", ":")) for event in events],
        }

    async def load_states(self, stream_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StreamState]:
        """See ``EventStore.load_states``: one indexed SELECT, never the events."""
        if not stream_ids:
            return {}
        with transient_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(sql.LOAD_STATES, {"stream_ids": list(stream_ids)})).all()
        return {
            row.stream_id: StreamState(
                stream_id=row.stream_id,
                stream_type=row.stream_type,
                tenant_id=row.tenant_id,
                version=row.version,
                snapshot=row.state,
            )
            for row in rows
        }

    async def get_idempotent_response(self, key: IdempotencyKey) -> StoredResponse | None:
        """See ``EventStore.get_idempotent_response``."""
        with transient_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(sql.GET_IDEMPOTENCY, _key_params(key))).first()
        if row is None:
            return None
        return StoredResponse(request_hash=row.request_hash, response=row.response, expires_at=row.expires_at)

    async def read_stream(
        self, stream_id: uuid.UUID, *, from_version: int = 1, limit: int | None = None
    ) -> list[RecordedEvent]:
        """See ``EventStore.read_stream``."""
        params = {"stream_id": stream_id, "from_version": from_version, "limit": limit}
        with transient_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(sql.READ_STREAM, params)).all()
        return [recorded_event(row, self._upcasters) for row in rows]

    async def read_all(self, *, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """See ``EventStore.read_all``."""
        with transient_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(sql.READ_ALL, {"after": after_position, "limit": limit})).all()
        return [recorded_event(row, self._upcasters) for row in rows]

    async def delete_expired_idempotency_records(self) -> int:
        """See ``EventStore.delete_expired_idempotency_records``."""
        with transient_errors():
            async with self._engine.begin() as conn:
                result = await conn.execute(sql.DELETE_EXPIRED_IDEMPOTENCY)
        return int(result.rowcount)


def recorded_event(row: Row[Any], upcasters: Upcasters) -> RecordedEvent:
    """Build a ``RecordedEvent`` from an ``es_events`` row, upcast to the current payload shape."""
    payload, schema_version = bytes(row.payload), row.schema_version
    if upcasters:
        payload, schema_version = upcasters.upcast(row.event_type, schema_version, payload)
    return RecordedEvent(
        global_position=row.global_position,
        stream_id=row.stream_id,
        stream_type=row.stream_type,
        tenant_id=row.tenant_id,
        version=row.version,
        event_id=row.event_id,
        event_type=row.event_type,
        schema_version=schema_version,
        payload=payload,
        metadata=row.metadata,
        recorded_at=row.recorded_at,
    )


def _statement(expected_version: int) -> Any:  # noqa: ANN401 - a prebuilt TextClause
    if expected_version == ExpectedVersion.NO_STREAM:
        return sql.APPEND_NEW
    if expected_version == ExpectedVersion.ANY:
        return sql.APPEND_ANY
    if expected_version == ExpectedVersion.STREAM_EXISTS:
        return sql.APPEND_EXISTING
    return sql.APPEND_EXACT


def _key_params(key: IdempotencyKey) -> dict[str, str]:
    return {"tenant_id": key.tenant_id, "user_id": key.user_id, "key": key.key}


def _claim_params(write: IdempotentWrite) -> dict[str, Any]:
    return {**_key_params(write.key), "request_hash": write.request_hash, "response": write.response, "ttl": write.ttl}


async def _replay(conn: AsyncConnection, write: IdempotentWrite) -> AppendResult:
    # The claim found an unexpired record (after waiting for its writer to commit): nothing is appended.
    row = (await conn.execute(sql.GET_IDEMPOTENCY, _key_params(write.key))).one()
    await conn.rollback()
    if bytes(row.request_hash) != write.request_hash:
        raise IdempotencyKeyReusedError(write.key.key)
    return AppendResult(
        replayed=True, response=bytes(row.response), expires_at=row.expires_at, versions={}, last_position=0
    )


async def _conflict(conn: AsyncConnection, item: StreamAppend) -> EventStoreError:
    row = (await conn.execute(sql.STREAM_HEAD, {"stream_id": item.stream_id})).first()
    if row is None:
        return ConcurrencyError(item.stream_id, item.expected_version, 0)
    if row.tenant_id != item.tenant_id:
        return TenantMismatchError(f"stream {item.stream_id} belongs to another tenant")
    return ConcurrencyError(item.stream_id, item.expected_version, row.version)


async def _integrity_error(
    conn: AsyncConnection, error: sa_exc.IntegrityError, appends: Sequence[StreamAppend]
) -> EventStoreError:
    name = constraint_name(error)
    if name == EVENT_ID_CONSTRAINT:
        return DuplicateEventError(key_uuid(error))
    if name == STREAM_VERSION_CONSTRAINT:
        # A stream head and its events disagree only under a concurrent writer: report it as a conflict.
        stream_id = key_uuid(error)
        item = next((a for a in appends if a.stream_id == stream_id), appends[0])
        return await _conflict(conn, item)
    return EventStoreError(f"append rejected by the database: {error.orig}")
