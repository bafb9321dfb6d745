"""In-memory event store: dictionaries under one asyncio.Lock, same contract as the Postgres store."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence

from ameide_eventstore.errors import (
    ConcurrencyError,
    DuplicateEventError,
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
from ameide_eventstore.sharding import DEFAULT_SHARD_COUNT, shard_of
from ameide_eventstore.upcasting import Upcaster, Upcasters, as_upcasters
from ameide_eventstore.validation import check_appends

Clock = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxRow:
    """One unapplied event in the in-memory outbox."""

    id: int
    shard: int
    global_position: int


@dataclasses.dataclass(frozen=True, slots=True)
class DeadLetter:
    """A parked poison event."""

    global_position: int
    stream_id: uuid.UUID
    event_type: str
    error: str
    shard: int


class InMemoryEventStore:
    """An ``EventStore`` kept in dictionaries; every operation is atomic under one ``asyncio.Lock``.

    Args:
        shard_count: Number of virtual outbox shards.
        upcasters: Registry (or mapping) of upcasters applied when events are read.
        clock: Source of "now" (idempotency expiry, recorded_at); tests may pass a fake clock.
    """

    def __init__(
        self,
        *,
        shard_count: int = DEFAULT_SHARD_COUNT,
        upcasters: Upcasters | Mapping[tuple[str, int], Upcaster] | None = None,
        clock: Clock = _utcnow,
    ) -> None:
        self.lock = asyncio.Lock()
        self.shard_count = shard_count
        self.upcasters = as_upcasters(upcasters)
        self._clock = clock
        self._streams: dict[uuid.UUID, StreamState] = {}
        # The version at which a stream's decision state last changed, while only commutative appends followed it.
        self._state_versions: dict[uuid.UUID, int] = {}
        self._events: list[RecordedEvent] = []  # index = global_position - 1
        self._event_ids: set[uuid.UUID] = set()
        self._idempotency: dict[IdempotencyKey, StoredResponse] = {}
        self.outbox: list[OutboxRow] = []
        self.dead_letters: list[DeadLetter] = []
        # Serializes consumers: one batch at a time keeps per-stream order, like shard ownership does in Postgres.
        self.consume_lock = asyncio.Lock()
        self._outbox_id = 0

    async def append(
        self, appends: Sequence[StreamAppend], *, idempotency: IdempotentWrite | None = None
    ) -> AppendResult:
        """See ``EventStore.append``."""
        check_appends(appends)
        async with self.lock:
            now = self._clock()
            expires_at = None
            if idempotency is not None:
                stored = self._idempotency.get(idempotency.key)
                if stored is not None and stored.expires_at > now:
                    if stored.request_hash != idempotency.request_hash:
                        raise IdempotencyKeyReusedError(idempotency.key.key)
                    return AppendResult(
                        replayed=True,
                        response=stored.response,
                        expires_at=stored.expires_at,
                        versions={},
                        last_position=0,
                    )
                expires_at = now + idempotency.ttl
            for item in appends:  # check everything before changing anything: all or nothing
                self._check(item)
            versions = {item.stream_id: self._write(item, now) for item in sorted(appends, key=lambda a: a.stream_id)}
            if idempotency is not None and expires_at is not None:
                self._idempotency[idempotency.key] = StoredResponse(
                    request_hash=idempotency.request_hash, response=idempotency.response, expires_at=expires_at
                )
            response = idempotency.response if idempotency is not None else b""
            return AppendResult(
                replayed=False,
                response=response,
                expires_at=expires_at,
                versions=versions,
                last_position=len(self._events),
            )

    def _check(self, item: StreamAppend) -> None:
        state = self._streams.get(item.stream_id)
        if state is not None and state.tenant_id != item.tenant_id:
            raise TenantMismatchError(f"stream {item.stream_id} belongs to another tenant")
        actual = state.version if state is not None else 0
        expected = item.expected_version
        if expected == ExpectedVersion.STREAM_EXISTS:
            if state is None:
                raise ConcurrencyError(item.stream_id, expected, 0)
        elif item.commutative and expected > 0:
            if state is None or self._state_versions.get(item.stream_id, actual) > expected:
                raise ConcurrencyError(item.stream_id, expected, actual)
        elif expected not in (ExpectedVersion.ANY, actual):
            raise ConcurrencyError(item.stream_id, expected, actual)
        for event in item.events:
            if event.event_id in self._event_ids:
                raise DuplicateEventError(event.event_id)

    def _write(self, item: StreamAppend, now: dt.datetime) -> int:
        state = self._streams.get(item.stream_id)
        version = state.version if state is not None else 0
        if item.commutative and state is not None:
            self._state_versions.setdefault(item.stream_id, version)
        else:
            self._state_versions.pop(item.stream_id, None)
        shard = shard_of(item.stream_id, self.shard_count)
        for event in item.events:
            version += 1
            recorded = RecordedEvent(
                global_position=len(self._events) + 1,
                stream_id=item.stream_id,
                stream_type=item.stream_type,
                tenant_id=item.tenant_id,
                version=version,
                event_id=event.event_id,
                event_type=event.event_type,
                schema_version=event.schema_version,
                payload=event.payload,
                metadata=dict(event.metadata),
                recorded_at=now,
            )
            self._events.append(recorded)
            self._event_ids.add(event.event_id)
            self._outbox_id += 1
            self.outbox.append(OutboxRow(self._outbox_id, shard, recorded.global_position))
        snapshot = item.snapshot if item.snapshot is not None else (state.snapshot if state is not None else None)
        self._streams[item.stream_id] = StreamState(
            stream_id=item.stream_id,
            stream_type=item.stream_type if state is None else state.stream_type,
            tenant_id=item.tenant_id,
            version=version,
            snapshot=snapshot,
        )
        return version

    async def load_states(self, stream_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StreamState]:
        """See ``EventStore.load_states``."""
        async with self.lock:
            return {sid: self._streams[sid] for sid in stream_ids if sid in self._streams}

    async def get_idempotent_response(self, key: IdempotencyKey) -> StoredResponse | None:
        """See ``EventStore.get_idempotent_response``."""
        async with self.lock:
            stored = self._idempotency.get(key)
            return stored if stored is not None and stored.expires_at > self._clock() else None

    async def read_stream(
        self, stream_id: uuid.UUID, *, from_version: int = 1, limit: int | None = None
    ) -> list[RecordedEvent]:
        """See ``EventStore.read_stream``."""
        async with self.lock:
            events = [e for e in self._events if e.stream_id == stream_id and e.version >= from_version]
        return [self.upcast(e) for e in events[:limit]]

    async def read_all(self, *, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """See ``EventStore.read_all``."""
        async with self.lock:
            events = self._events[max(after_position, 0) : max(after_position, 0) + limit]
        return [self.upcast(e) for e in events]

    async def delete_expired_idempotency_records(self) -> int:
        """See ``EventStore.delete_expired_idempotency_records``."""
        async with self.lock:
            now = self._clock()
            expired = [key for key, stored in self._idempotency.items() if stored.expires_at <= now]
            for key in expired:
                del self._idempotency[key]
            return len(expired)

    def upcast(self, event: RecordedEvent) -> RecordedEvent:
        """The event in its current payload shape."""
        if not self.upcasters:
            return event
        payload, version = self.upcasters.upcast(event.event_type, event.schema_version, event.payload)
        return dataclasses.replace(event, payload=payload, schema_version=version)

    def event_at(self, global_position: int) -> RecordedEvent:
        """The stored event at a global position (for the consumer)."""
        return self._events[global_position - 1]

    def now(self) -> dt.datetime:
        """The store's clock."""
        return self._clock()
