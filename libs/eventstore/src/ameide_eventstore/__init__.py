"""Event store: atomic multi-stream appends, transactional outbox, idempotency records, sharded consumption."""

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

__all__ = [
    "AfterCommit",
    "AppendResult",
    "BatchHandler",
    "ConcurrencyError",
    "DuplicateEventError",
    "EventStore",
    "EventStoreError",
    "ExpectedVersion",
    "IdempotencyKey",
    "IdempotencyKeyReusedError",
    "IdempotentWrite",
    "NewEvent",
    "OutboxConsumer",
    "RecordedEvent",
    "StoredResponse",
    "StreamAppend",
    "StreamState",
    "TenantMismatchError",
    "TransientStoreError",
]
