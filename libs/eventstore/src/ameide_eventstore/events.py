"""Value types that cross the event-store boundary."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum


class ExpectedVersion(IntEnum):
    """Special expected versions; any value >= 0 is an exact version (0 = the stream must not exist yet)."""

    NO_STREAM = 0
    ANY = -1
    STREAM_EXISTS = -2


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended.

    Attributes:
        event_id: Unique id; appending an id that is already stored raises ``DuplicateEventError``.
        event_type: Stable type name: the payload message's full proto name.
        payload: Serialized protobuf payload.
        schema_version: Version of the payload's shape (upcasters key on it).
        metadata: user_id, tenant_id, occurred_at (ISO 8601), causation_id, correlation_id, traceparent, ...
    """

    event_id: uuid.UUID
    event_type: str
    payload: bytes
    schema_version: int = 1
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamAppend:
    """Events for one stream within an (atomic, possibly multi-stream) append.

    Attributes:
        stream_id: The stream (a chat or artifact id).
        stream_type: "chat" or "artifact".
        tenant_id: Owner tenant; a stream never changes tenant.
        expected_version: Exact version (0 = new stream) or an ``ExpectedVersion`` member.
        events: At least one event.
        snapshot: The stream's small decision state after these events, stored on the stream row so that
            loading an aggregate never replays its history. ``None`` keeps the previous snapshot.
        commutative: These events change no decision about the stream (an artifact's links: the chat side decides
            them), so they commute with each other. With an exact ``expected_version``, the append then needs only
            that no append since that version was a non-commutative one; concurrent commutative appends (many chats
            linking one popular artifact at once) never conflict. Any other append still conflicts with them.
    """

    stream_id: uuid.UUID
    stream_type: str
    tenant_id: str
    expected_version: int
    events: Sequence[NewEvent]
    snapshot: bytes | None = None
    commutative: bool = False


@dataclass(frozen=True, slots=True)
class StreamState:
    """The head of a stream: its version and decision snapshot."""

    stream_id: uuid.UUID
    stream_type: str
    tenant_id: str
    version: int
    snapshot: bytes | None


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored."""

    global_position: int
    stream_id: uuid.UUID
    stream_type: str
    tenant_id: str
    version: int
    event_id: uuid.UUID
    event_type: str
    schema_version: int
    payload: bytes
    metadata: Mapping[str, str]
    recorded_at: dt.datetime


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """Idempotency records are keyed by tenant, user and the client's key."""

    tenant_id: str
    user_id: str
    key: str


@dataclass(frozen=True, slots=True)
class IdempotentWrite:
    """The idempotency record to write in the same transaction as the events.

    Attributes:
        key: The record's key.
        request_hash: Hash of the request (a retry must match it).
        response: The serialized response returned to this call and to every retry.
        ttl: How long the record is kept.
    """

    key: IdempotencyKey
    request_hash: bytes
    response: bytes
    ttl: dt.timedelta = dt.timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response stored under an idempotency key."""

    request_hash: bytes
    response: bytes
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Outcome of ``EventStore.append``.

    Attributes:
        replayed: The idempotency key was already used with the same request: nothing was appended and
            ``response`` is the stored response.
        response: The response bytes to return (the new one, or the stored one when replayed).
        expires_at: When the idempotency record expires (``None`` without idempotency).
        versions: New version of each appended stream (empty when replayed).
        last_position: Global position of the last appended event (0 when replayed).
    """

    replayed: bool
    response: bytes
    expires_at: dt.datetime | None
    versions: Mapping[uuid.UUID, int]
    last_position: int
