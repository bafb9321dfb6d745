"""What every handler gets besides its command: who asks, request/correlation ids, trace, idempotency."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ameide_command.domain.model import Actor

Clock = Callable[[], dt.datetime]
IdFactory = Callable[[], uuid.UUID]


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC (the default clock)."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class IdempotencyRequest:
    """The client's idempotency key and the hash of the request it was sent with."""

    key: str
    request_hash: bytes


def request_hash(method: str, request: bytes) -> bytes:
    """SHA-256 over the RPC name and the request's deterministic bytes (identity fields already filled in).

    The method is part of the hash, so one key reused for another RPC counts as a different request.
    """
    return hashlib.sha256(method.encode() + b"\0" + request).digest()


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The request around a command: written into every event's metadata."""

    actor: Actor
    request_id: str
    correlation_id: str
    traceparent: str = ""
    idempotency: IdempotencyRequest | None = None

    @property
    def idempotency_key(self) -> str:
        """The client's idempotency key, or ""."""
        return self.idempotency.key if self.idempotency is not None else ""
