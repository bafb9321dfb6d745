"""Ports of the event store: the write side appends, the projector consumes the outbox.

Implementations: ``ameide_eventstore.postgres`` (production) and ``ameide_eventstore.memory`` (tests);
``ameide_eventstore.testing`` holds the contract suite both pass.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import uuid

    from ameide_eventstore.events import (
        AppendResult,
        IdempotencyKey,
        IdempotentWrite,
        RecordedEvent,
        StoredResponse,
        StreamAppend,
        StreamState,
    )


class EventStore(Protocol):
    """Append-only, multi-stream, with a transactional outbox and idempotency records."""

    async def append(
        self, appends: Sequence[StreamAppend], *, idempotency: IdempotentWrite | None = None
    ) -> AppendResult:
        """Append events to one or more streams in one short transaction.

        Streams are locked in sorted id order (no deadlock between commands touching the same streams), each
        expected version is checked, events and one outbox row per event are inserted, stream versions and
        snapshots are bumped, and the idempotency record (if any) is written, all or nothing.
        With ``idempotency``: the key is claimed first; a concurrent duplicate waits for the first transaction
        and then returns its stored response (``replayed=True``); a different request under the same key
        raises ``IdempotencyKeyReusedError``.

        Raises:
            ConcurrencyError: an expected version did not match.
            DuplicateEventError: an event id is already stored.
            IdempotencyKeyReusedError: the key was used with a different request.
            TransientStoreError: the database failed transiently.
        """
        ...

    async def load_states(self, stream_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StreamState]:
        """Read the head (version and snapshot) of each existing stream; missing streams are absent."""
        ...

    async def get_idempotent_response(self, key: IdempotencyKey) -> StoredResponse | None:
        """Return the unexpired response stored under ``key``, if any (the fast path before deciding)."""
        ...

    async def read_stream(
        self, stream_id: uuid.UUID, *, from_version: int = 1, limit: int | None = None
    ) -> list[RecordedEvent]:
        """Events of one stream with version >= ``from_version``, oldest first, upcast."""
        ...

    async def read_all(self, *, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Events of every stream after a global position, in position order, upcast (rebuilds, history)."""
        ...

    async def delete_expired_idempotency_records(self) -> int:
        """Delete expired idempotency records (the janitor); return how many."""
        ...


# The projector's callback: runs INSIDE the transaction that deletes the batch's outbox rows. It receives the
# implementation's transaction handle (an SQLAlchemy ``AsyncConnection`` for Postgres) and the batch, in
# per-stream order. It may return an after-commit callback (e.g. publish to Redis), called only after commit.
AfterCommit = Callable[[], Awaitable[None]]
BatchHandler = Callable[[Any, Sequence["RecordedEvent"]], Awaitable[AfterCommit | None]]


class OutboxConsumer(Protocol):
    """Consumes the outbox by virtual shard; each shard is owned by exactly one worker at a time."""

    async def run(self, handler: BatchHandler, *, stop: Callable[[], bool]) -> None:
        """Claim shards, apply batches through ``handler`` until ``stop()`` is true, then release shards."""
        ...
