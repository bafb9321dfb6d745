"""Page sizes and page tokens (design.md section 6, AIP-158).

A page token is opaque and signed (``TokenCodec`` kind "page"): it carries the keyset position of the last row
returned and is bound to the caller's tenant and user and to a hash of the query (RPC, resource, filter). Using
it with another filter, another caller, or tampering with it -> INVALID_ARGUMENT. The page size is not part of
the binding: a client may change it between pages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from ameide_runtime.errors import FieldViolation, InvalidArgument
from ameide_runtime.identity import Identity
from ameide_runtime.tokens import InvalidToken, TokenCodec

KIND = "page"


@dataclass(frozen=True, slots=True)
class PageLimits:
    """Default and maximum page size of one RPC."""

    default: int
    maximum: int


CHATS = PageLimits(default=20, maximum=100)
MESSAGES = PageLimits(default=50, maximum=200)
# A page ends early once its items pass this many bytes (AIP-158 allows short pages): 100 chats or artifacts with
# maximal labels (64 x 4 KiB) would otherwise exceed the 8 MiB gRPC response limit, and one user's big TEAM chats
# would make ListChats fail for the whole tenant.
PAGE_BYTES = 4 * 1024 * 1024


def page_size(requested: int, limits: PageLimits, *, field: str = "page_size") -> int:
    """0 -> the default, above the maximum -> the maximum, negative -> INVALID_ARGUMENT."""
    if requested < 0:
        raise InvalidArgument(FieldViolation(field, "must not be negative"))
    if requested == 0:
        return limits.default
    return min(requested, limits.maximum)


def fitting(items: Sequence[Message]) -> int:
    """How many leading ``items`` fit in ``PAGE_BYTES`` (always at least one)."""
    total = 0
    for count, item in enumerate(items):
        total += item.ByteSize()
        if count and total > PAGE_BYTES:
            return count
    return len(items)


def query_hash(*parts: object) -> str:
    """A short stable digest of what a page token is bound to (RPC name, resource id, filter values)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class PageTokens:
    """Issues and verifies page tokens for one caller and query."""

    def __init__(self, codec: TokenCodec, caller: Identity, binding: str) -> None:
        self._codec = codec
        self._caller = caller
        self._binding = binding

    def issue(self, position: Sequence[Any]) -> str:
        """A token resuming after ``position`` (the keyset values of the last row returned)."""
        payload = {"t": self._caller.tenant_id, "u": self._caller.user_id, "h": self._binding, "k": list(position)}
        return self._codec.encode(KIND, payload)

    def position(self, token: str, *, field: str = "page_token") -> list[Any] | None:
        """The keyset position in ``token`` (``None`` for the first page); INVALID_ARGUMENT when it does not fit."""
        if not token:
            return None
        try:
            payload = self._codec.decode(KIND, token)
        except InvalidToken as exc:
            raise InvalidArgument(FieldViolation(field, "not a valid page token"), reason="INVALID_PAGE_TOKEN") from exc
        bound = (payload.get("t"), payload.get("u"), payload.get("h"))
        if bound != (self._caller.tenant_id, self._caller.user_id, self._binding):
            raise InvalidArgument(
                FieldViolation(field, "page token belongs to another query or caller"), reason="INVALID_PAGE_TOKEN"
            )
        position = payload.get("k")
        if not isinstance(position, list) or not position:
            raise InvalidArgument(FieldViolation(field, "not a valid page token"), reason="INVALID_PAGE_TOKEN")
        return position
