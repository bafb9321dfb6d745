"""What every handler gets besides its command: who asks, request/correlation ids, trace, idempotency."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ameide_command.domain.model import Actor

Clock = Callable[[], dt.datetime]
IdFactory = Callable[[], uuid.UUID]


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC (the default clock)."""
    return dt.datetime.now(dt.UTC)


# Ids drawn from one read of the OS's random source (what ``uuid.uuid4`` reads for every id): 256 ids a read.
_IDS_PER_READ = 256
_ID_BYTES = 16
# The version (4) and variant (RFC 4122) bits of a random UUID, as ``uuid.UUID(bytes=..., version=4)`` sets them.
_RANDOM_BITS = ~((0xC000 << 48) | (0xF000 << 64))
_VERSION_4 = (0x8000 << 48) | (4 << 76)
_new = object.__new__
_set = object.__setattr__


class RandomIds:
    """Random (version 4) UUIDs as ``uuid.uuid4`` makes them, from the OS's random source read in batches.

    A command mints several ids (message, events, request); a system call for each showed in the per-request
    CPU profile. The batch is dropped in a forked child, so two processes never hand out the same ids, and taken
    under a lock, so two threads never do either.
    """

    def __init__(self) -> None:
        self._pool = b""
        self._next = 0
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._drop)

    def _drop(self) -> None:
        self._pool, self._next = b"", 0

    def __call__(self) -> uuid.UUID:
        """A new random id."""
        with self._lock:
            start = self._next
            if start + _ID_BYTES > len(self._pool):
                self._pool, start = os.urandom(_ID_BYTES * _IDS_PER_READ), 0
            self._next = start + _ID_BYTES
            drawn = self._pool[start : start + _ID_BYTES]
        value = int.from_bytes(drawn) & _RANDOM_BITS | _VERSION_4
        # What ``uuid.UUID.__init__`` ends with, without its argument checks (a third of the cost).
        made = _new(uuid.UUID)
        _set(made, "int", value)
        _set(made, "is_safe", uuid.SafeUUID.unknown)
        return made


random_id = RandomIds()


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
