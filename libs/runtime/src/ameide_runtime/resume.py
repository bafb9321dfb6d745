"""Resume (checkpoint) tokens of the live-update feeds (spec "Resume Token Semantics", design.md section 7).

A token is opaque and signed: ``{tenant, feed, seq, issued_at}``. ``feed`` is ``thread:{id}`` or
``artifact:{id}``; ``seq`` is the gapless per-feed sequence of the last update the client has (0 = none).
Tokens are monotonic within a feed (higher seq = later). A token older than the TTL is expired
(FAILED_PRECONDITION, reason RESUME_TOKEN_EXPIRED: reload and subscribe again); one for another feed or tenant,
or a forged one, is INVALID_ARGUMENT.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ameide_runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument
from ameide_runtime.tokens import InvalidToken, TokenCodec

KIND = "resume"


def chat_feed(threads_id: str) -> str:
    """Feed key of a chat."""
    return f"thread:{threads_id}"


def artifact_feed(artifact_id: str) -> str:
    """Feed key of an artifact."""
    return f"artifact:{artifact_id}"


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where a subscriber is in a feed."""

    tenant_id: str
    feed: str
    seq: int
    issued_at: float

    def valid_until(self, ttl_seconds: float) -> float:
        """Epoch seconds after which this point can no longer be resumed from."""
        return self.issued_at + ttl_seconds


def issue(codec: TokenCodec, *, tenant_id: str, feed: str, seq: int, now: float | None = None) -> str:
    """Token for having seen ``seq`` of ``feed``."""
    issued = time.time() if now is None else now
    return codec.encode(KIND, {"t": tenant_id, "f": feed, "q": int(seq), "i": round(issued, 3)})


def parse(
    codec: TokenCodec,
    token: str,
    *,
    tenant_id: str,
    feed: str,
    ttl_seconds: float,
    now: float | None = None,
    field: str = "resume_token",
) -> ResumePoint:
    """Verify a token for this tenant and feed; raise the documented errors otherwise."""
    try:
        payload = codec.decode(KIND, token)
        point = ResumePoint(
            tenant_id=str(payload["t"]),
            feed=str(payload["f"]),
            seq=int(payload["q"]),
            issued_at=float(payload["i"]),
        )
    except (InvalidToken, KeyError, TypeError, ValueError) as exc:
        raise InvalidArgument(FieldViolation(field, "not a valid resume token"), reason="INVALID_RESUME_TOKEN") from exc
    if point.tenant_id != tenant_id or point.feed != feed or point.seq < 0:
        raise InvalidArgument(FieldViolation(field, "token belongs to another stream"), reason="INVALID_RESUME_TOKEN")
    current = time.time() if now is None else now
    if current > point.valid_until(ttl_seconds):
        raise FailedPrecondition(
            "resume token expired: reload the state and subscribe again", reason="RESUME_TOKEN_EXPIRED"
        )
    return point
