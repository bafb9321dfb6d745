"""Errors raised by the event store; nothing driver-specific escapes this package."""

from __future__ import annotations

import uuid


class EventStoreError(Exception):
    """Base of every event-store error."""


class ConcurrencyError(EventStoreError):
    """A stream's version was not the expected one (another writer won)."""

    def __init__(self, stream_id: uuid.UUID, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream_id}: expected version {expected}, actual {actual}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class DuplicateEventError(EventStoreError):
    """An event id that is already stored was appended again."""

    def __init__(self, event_id: uuid.UUID | None) -> None:
        super().__init__(f"event id already stored: {event_id}")
        self.event_id = event_id


class IdempotencyKeyReusedError(EventStoreError):
    """The idempotency key was used before with a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was already used with a different request")
        self.key = key


class TenantMismatchError(EventStoreError):
    """A stream was appended to under another tenant than the one it belongs to."""


class TransientStoreError(EventStoreError):
    """The database could not be reached or failed transiently: safe to retry."""
