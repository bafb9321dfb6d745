"""From a gRPC call to a ``RequestContext`` and back: caller, request ids, trace, idempotency, replay metadata."""

from __future__ import annotations

from typing import Any, Protocol, TypeGuard, TypeVar

import grpc.aio
from google.protobuf.message import Message

from ameide_command.application.context import IdempotencyRequest, RequestContext, random_id, request_hash
from ameide_command.application.executor import Outcome
from ameide_command.domain.model import Actor
from ameide_runtime import identity
from ameide_runtime.metrics import IDEMPOTENCY_HITS
from ameide_runtime.telemetry import current_traceparent

R = TypeVar("R", bound=Message)

REQUEST_ID_HEADER = "x-request-id"
CORRELATION_ID_HEADER = "x-correlation-id"
REPLAYED_HEADER = "idempotent-replayed"
EXPIRES_HEADER = "idempotency-expires-at"
_MAX_HEADER_ID_CHARS = 128


class IdentifiedRequest(Protocol):
    """Every command request carries the (optional) identity fields the auth layer fills in."""

    user_id: str
    tenant_id: str


def caller(request: IdentifiedRequest) -> Actor:
    """The authenticated caller; request ``user_id``/``tenant_id`` that differ -> PERMISSION_DENIED."""
    who = identity.reconcile(user_id=request.user_id, tenant_id=request.tenant_id)
    return Actor(user_id=who.user_id, tenant_id=who.tenant_id)


def _ids(context: grpc.aio.ServicerContext[Any, Any]) -> tuple[str, str]:
    """The caller's request and correlation ids (the first usable value of each header; "" when none), one pass."""
    request_id = correlation_id = ""
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_HEADER:
            if not request_id and _usable_id(value):
                request_id = value
        elif key == CORRELATION_ID_HEADER and not correlation_id and _usable_id(value):
            correlation_id = value
    return request_id, correlation_id


def _usable_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= _MAX_HEADER_ID_CHARS and value.isprintable()


def request_context(
    context: grpc.aio.ServicerContext[Any, Any],
    actor: Actor,
    *,
    method: str = "",
    request: Message | None = None,
    idempotency_key: str = "",
) -> RequestContext:
    """The context written into event metadata; with a key, the hash of the request as this caller sent it."""
    request_id, correlation_id = _ids(context)
    request_id = request_id or str(random_id())
    correlation_id = correlation_id or request_id
    idempotency = None
    if idempotency_key and request is not None:
        idempotency = IdempotencyRequest(idempotency_key, fingerprint(method, request, actor))
    return RequestContext(
        actor=actor,
        request_id=request_id,
        correlation_id=correlation_id,
        traceparent=current_traceparent(),
        idempotency=idempotency,
    )


def fingerprint(method: str, request: Message, actor: Actor) -> bytes:
    """Hash of the request with the caller's identity filled in (so a key is bound to its exact request)."""
    normalized = type(request)()
    normalized.CopyFrom(request)
    normalized.user_id = actor.user_id  # type: ignore[attr-defined]
    normalized.tenant_id = actor.tenant_id  # type: ignore[attr-defined]
    return request_hash(method, normalized.SerializeToString(deterministic=True))


def reply(context: grpc.aio.ServicerContext[Any, Any], outcome: Outcome[R]) -> R:
    """The response; a replay says so in trailing metadata (with when the stored response expires)."""
    if outcome.replayed:
        IDEMPOTENCY_HITS.inc()
        trailing: list[tuple[str, str]] = [(REPLAYED_HEADER, "true")]
        if outcome.expires_at is not None:
            trailing.append((EXPIRES_HEADER, outcome.expires_at.isoformat()))
        context.set_trailing_metadata(tuple(trailing))
    return outcome.response
