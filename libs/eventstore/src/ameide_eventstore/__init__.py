"""Event store: atomic multi-stream appends, transactional outbox, idempotency records, sharded consumption."""

from ameide_eventstore.consumer import ConsumerMetrics, CountingMetrics, NullMetrics, OnError, OutboxStats
from ameide_eventstore.errors import (
    ConcurrencyError,
    DuplicateEventError,
    EventStoreError,
    IdempotencyKeyReusedError,
    TenantMismatchError,
    TransientStoreError,
)
from ameide_eventstore.events import (
    AppendResult,
    ExpectedVersion,
    IdempotencyKey,
    IdempotentWrite,
    NewEvent,
    RecordedEvent,
    StoredResponse,
    StreamAppend,
    StreamState,
)
from ameide_eventstore.ports import AfterCommit, BatchHandler, EventStore, OutboxConsumer
from ameide_eventstore.sharding import DEFAULT_SHARD_COUNT, shard_of
from ameide_eventstore.upcasting import Upcaster, Upcasters

__all__ = [
    "DEFAULT_SHARD_COUNT",
    "AfterCommit",
    "AppendResult",
    "BatchHandler",
    "ConcurrencyError",
    "ConsumerMetrics",
    "CountingMetrics",
    "DuplicateEventError",
    "EventStore",
    "EventStoreError",
    "ExpectedVersion",
    "IdempotencyKey",
    "IdempotencyKeyReusedError",
    "IdempotentWrite",
    "NewEvent",
    "NullMetrics",
    "OnError",
    "OutboxConsumer",
    "OutboxStats",
    "RecordedEvent",
    "StoredResponse",
    "StreamAppend",
    "StreamState",
    "TenantMismatchError",
    "TransientStoreError",
    "Upcaster",
    "Upcasters",
    "shard_of",
]
