"""PostgreSQL event store: a single-stream append is one statement, a multi-stream append one short transaction.

With group commit, appends arriving while another is in flight are written together, in one call (``group_commit``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import psycopg
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_eventstore.errors import TransientStoreError
from ameide_eventstore.events import (
    AppendResult,
    IdempotencyKey,
    IdempotentWrite,
    RecordedEvent,
    StoredResponse,
    StreamAppend,
    StreamState,
)
from ameide_eventstore.postgres import append_sql, appender
from ameide_eventstore.postgres import statements as sql
from ameide_eventstore.postgres.appender import BeforeCommit
from ameide_eventstore.postgres.batch_sql import Command
from ameide_eventstore.postgres.group_commit import GroupCommit
from ameide_eventstore.postgres.translate import transient_errors
from ameide_eventstore.sharding import DEFAULT_SHARD_COUNT
from ameide_eventstore.upcasting import Upcaster, Upcasters, as_upcasters
from ameide_eventstore.validation import check_appends
from ameide_pg.pool import ConnectionPool

# An expired idempotency record found while replaying is replaced by appending again (rarely more than once).
_ATTEMPTS = 3
_JANITOR_SLICE = 5000
# The append talks to psycopg directly (no SQL statement spans): this span marks it in the command's trace.
_tracer = trace.get_tracer("ameide_eventstore")


class PostgresEventStore:
    """The production ``EventStore`` (SQLAlchemy Core on psycopg 3, async).

    Args:
        engine: Async engine on a ``postgresql+psycopg://`` URL.
        shard_count: Number of virtual outbox shards; must equal the consumers' setting.
        upcasters: Registry (or mapping) of upcasters applied when events are read.
        before_commit: Test-only hook awaited inside the append transaction before COMMIT.
        pool: Connections for append, ``load_states`` and the idempotency lookup (the caller closes it); without
            one they are checked out from ``engine``'s pool, which costs more CPU per call.
        group_commit: Write appends that arrive while another is in flight together, in one call per batch
            (``postgres.group_commit``); ignored with ``before_commit``.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        shard_count: int = DEFAULT_SHARD_COUNT,
        upcasters: Upcasters | Mapping[tuple[str, int], Upcaster] | None = None,
        before_commit: BeforeCommit | None = None,
        pool: ConnectionPool | None = None,
        group_commit: bool = False,
    ) -> None:
        self._engine = engine
        self._shard_count = shard_count
        self._upcasters = as_upcasters(upcasters)
        self._before_commit = before_commit
        self._pool = pool
        self.group: GroupCommit | None = None
        if group_commit and before_commit is None:
            self.group = GroupCommit(self._connection, self._append_alone, shard_count=shard_count)

    def _connection(self) -> AbstractAsyncContextManager[appender.Conn]:
        """An autocommit psycopg connection for one hot-path operation, returned clean."""
        if self._pool is not None:
            return self._pool.connection()
        return appender.checkout(self._engine, autocommit=True)

    async def append(
        self, appends: Sequence[StreamAppend], *, idempotency: IdempotentWrite | None = None
    ) -> AppendResult:
        """See ``EventStore.append``."""
        # Sorted stream ids = one global lock order, so commands touching the same streams never deadlock.
        ordered = sorted(check_appends(appends), key=lambda item: item.stream_id)
        if _spans_dropped():
            return await self._append(ordered, idempotency)
        with _tracer.start_as_current_span("eventstore.append") as span:
            if span.is_recording():
                span.set_attribute("ameide.streams", len(ordered))
                span.set_attribute("ameide.events", sum(len(item.events) for item in ordered))
            result = await self._append(ordered, idempotency)
            span.set_attribute("ameide.replayed", result.replayed)
            return result

    async def _append(self, ordered: Sequence[StreamAppend], idempotency: IdempotentWrite | None) -> AppendResult:
        for _ in range(_ATTEMPTS):
            if self.group is not None:
                result = await self.group.append(Command(ordered, idempotency))
            else:
                result = await self._attempt(ordered, idempotency)
            if result is not None:
                return result
        raise TransientStoreError("the idempotency record expired while being replayed; retry")

    async def _append_alone(self, command: Command) -> AppendResult | None:
        return await self._attempt(command.appends, command.idempotency)

    async def _attempt(
        self, ordered: Sequence[StreamAppend], idempotency: IdempotentWrite | None
    ) -> AppendResult | None:
        single = len(ordered) == 1 and self._before_commit is None
        with transient_errors():
            async with self._connection() as conn:
                try:
                    if single:
                        return await appender.append_single(conn, ordered[0], idempotency, self._shard_count)
                    if self._before_commit is None and appender.joinable(ordered):
                        return await appender.append_joined(conn, ordered, idempotency, self._shard_count)
                    return await appender.append_in_transaction(
                        conn, ordered, idempotency, self._shard_count, self._before_commit
                    )
                except appender.ReplayedError:
                    assert idempotency is not None  # noqa: S101 - only raised with a key
                    return await appender.replay(conn, idempotency)
                except psycopg.Error as error:
                    if appender.is_replay(error) and idempotency is not None:
                        await appender.end(conn)
                        return await appender.replay(conn, idempotency)
                    explained = await appender.explain(conn, error, ordered)
                    if explained is None:
                        raise
                    raise explained from error

    async def load_states(self, stream_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StreamState]:
        """See ``EventStore.load_states``: one indexed SELECT on the stream heads, never the events."""
        if not stream_ids:
            return {}
        with transient_errors():
            async with self._connection() as conn:
                cursor = await conn.execute(append_sql.LOAD_STATES, {"ids": list(stream_ids)})
                rows = await cursor.fetchall()
        return {
            row[0]: StreamState(stream_id=row[0], stream_type=row[1], tenant_id=row[2], version=row[3], snapshot=row[4])
            for row in rows
        }

    async def get_idempotent_response(self, key: IdempotencyKey) -> StoredResponse | None:
        """See ``EventStore.get_idempotent_response``: one autocommit SELECT on the append's lean connection path.

        Every keyed command asks this first; SQLAlchemy's execution path (plus its BEGIN/ROLLBACK around the read)
        cost more CPU than the statement and a second round trip.
        """
        params = {"i_tenant_id": key.tenant_id, "i_user_id": key.user_id, "i_key": key.key}
        with transient_errors():
            async with self._connection() as conn:
                cursor = await conn.execute(append_sql.UNEXPIRED_RESPONSE, params)
                row = await cursor.fetchone()
        if row is None:
            return None
        return StoredResponse(request_hash=bytes(row[0]), response=bytes(row[1]), expires_at=row[2])

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
        deleted = 0
        while True:
            with transient_errors():
                async with self._engine.begin() as conn:
                    result = await conn.execute(sql.DELETE_EXPIRED_IDEMPOTENCY, {"limit": _JANITOR_SLICE})
            deleted += int(result.rowcount)
            if result.rowcount < _JANITOR_SLICE:
                return deleted


def _spans_dropped() -> bool:
    """Tracing is off (the SDK provider samples nothing): the append's span would be created only to be dropped.

    Creating it anyway (sampler, ids, context attach and detach) was ~3 % of a SendMessage's server CPU (cProfile).
    """
    provider = trace.get_tracer_provider()
    return isinstance(provider, TracerProvider) and provider.sampler is ALWAYS_OFF


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
