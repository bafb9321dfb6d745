"""The one place exceptions become gRPC statuses with ``google.rpc`` details (design.md section 8).

The server's per-call steps (``grpc_chain``) map every handler's errors (single and streaming responses) with
``abort_with``. A deployable's own errors (the command service's domain refusals and event-store errors) are
mapped by the ``ErrorTable`` its ``ServiceBinding``s carry, consulted first. Then, for every deployable:
``AmeideError`` subclasses -> their status code; driver connection errors (SQLAlchemy, psycopg, Redis, OS) ->
UNAVAILABLE; a request that does not decode -> INVALID_ARGUMENT; NotImplementedError -> UNIMPLEMENTED; a
``context.abort`` passes through; anything else -> INTERNAL with a generic message, the detail going only to the
log (with the trace id, which the client also gets in ErrorInfo metadata).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import grpc
import grpc.aio
import psycopg
import redis.exceptions
import sqlalchemy.exc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry import trace

from ameide_runtime import errors
from ameide_runtime.grpc_wrap import Deserializer
from ameide_runtime.tokens import InvalidToken

DOMAIN = "ameide.threads"
TRANSIENT_RETRY_MS = 200

logger = logging.getLogger(__name__)

_CODES: dict[type[errors.AmeideError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Aborted: grpc.StatusCode.ABORTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
}

# Connection-level failures of the stores: the request may well succeed when retried.
_TRANSIENT: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)


@dataclass(frozen=True, slots=True)
class ErrorDescription:
    """What the client is told about an exception."""

    code: grpc.StatusCode
    message: str
    reason: str
    metadata: dict[str, str] = field(default_factory=dict)
    violations: tuple[errors.FieldViolation, ...] = ()
    retry_after_ms: int | None = None


# A deployable's own errors, by class (the most derived entry wins): each entry describes an error of its class.
ErrorTable = Mapping[type[BaseException], Callable[[Any], ErrorDescription]]


def store_unavailable() -> ErrorDescription:
    """UNAVAILABLE for a store that failed at the connection level: the request may well succeed when retried."""
    return ErrorDescription(
        grpc.StatusCode.UNAVAILABLE,
        "a backing store is unavailable; retry",
        "STORE_UNAVAILABLE",
        retry_after_ms=TRANSIENT_RETRY_MS,
    )


def _describe_application_error(exc: BaseException) -> ErrorDescription | None:
    if not isinstance(exc, errors.AmeideError):
        return None
    # A bare AmeideError is still meant for the client: the request cannot be served in the current state.
    code = next((code for kind, code in _CODES.items() if isinstance(exc, kind)), grpc.StatusCode.FAILED_PRECONDITION)
    return ErrorDescription(
        code,
        exc.message,
        exc.reason,
        dict(exc.metadata),
        tuple(getattr(exc, "violations", ())),
        getattr(exc, "retry_after_ms", None),
    )


def _describe_transient(exc: BaseException) -> ErrorDescription | None:
    return store_unavailable() if isinstance(exc, _TRANSIENT) else None


def _describe_input_error(exc: BaseException) -> ErrorDescription | None:
    if isinstance(exc, DecodeError):
        return ErrorDescription(
            grpc.StatusCode.INVALID_ARGUMENT, "the request could not be decoded", "MALFORMED_REQUEST"
        )
    if isinstance(exc, InvalidToken):
        violation = errors.FieldViolation("token", str(exc))
        return ErrorDescription(
            grpc.StatusCode.INVALID_ARGUMENT, f"invalid token: {exc}", "INVALID_TOKEN", violations=(violation,)
        )
    if isinstance(exc, NotImplementedError):
        # What the generated servicer base class raises for an RPC the deployable does not implement.
        return ErrorDescription(grpc.StatusCode.UNIMPLEMENTED, "method not implemented", "UNIMPLEMENTED")
    return None


_DESCRIBERS = (_describe_application_error, _describe_transient, _describe_input_error)


def describe(exc: BaseException, table: ErrorTable | None = None) -> ErrorDescription | None:
    """The client-facing description of ``exc`` (``table`` first); ``None`` means unexpected (INTERNAL)."""
    if table:
        for kind in type(exc).__mro__:
            entry = table.get(kind)
            if entry is not None:
                return entry(exc)
    for describer in _DESCRIBERS:
        description = describer(exc)
        if description is not None:
            return description
    return None


def current_trace_id() -> str:
    """Hex trace id of the active span, or "" when none is recording."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else ""


def to_rpc_status(description: ErrorDescription) -> grpc.Status:
    """A ``grpc.Status`` carrying ``google.rpc.Status`` details (ErrorInfo, BadRequest, RetryInfo)."""
    details: list[any_pb2.Any] = []
    info = error_details_pb2.ErrorInfo(reason=description.reason, domain=DOMAIN, metadata=description.metadata)
    details.append(_pack(info))
    if description.violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in description.violations
            ]
        )
        details.append(_pack(bad_request))
    if description.retry_after_ms is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(description.retry_after_ms)
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    status = status_pb2.Status(code=description.code.value[0], message=description.message, details=details)
    result: grpc.Status = rpc_status.to_status(status)
    return result


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def internal_description(exc: BaseException, method: str) -> ErrorDescription:
    """Log an unexpected error with its trace id and return the generic INTERNAL description."""
    trace_id = current_trace_id()
    logger.error("unexpected error in %s (trace_id=%s)", method, trace_id or "-", exc_info=exc)
    metadata = {"trace_id": trace_id} if trace_id else {}
    return ErrorDescription(grpc.StatusCode.INTERNAL, "internal error", "INTERNAL", metadata)


async def abort_with(
    context: grpc.aio.ServicerContext[Any, Any],
    exc: BaseException,
    *,
    method: str = "?",
    table: ErrorTable | None = None,
) -> NoReturn:
    """Abort the RPC with the status ``exc`` maps to (through ``table`` first)."""
    try:
        description = describe(exc, table) or internal_description(exc, method)
    except Exception as failure:  # noqa: BLE001 - mapping must never itself turn into UNKNOWN
        description = internal_description(failure, method)
    status = to_rpc_status(description)
    await context.abort(status.code, status.details, status.trailing_metadata)
    raise AssertionError("context.abort returned")  # pragma: no cover - abort always raises


class _Undecodable:
    """Stands in for a request whose bytes did not parse, so the handler can answer INVALID_ARGUMENT."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def tolerant_deserializer(deserializer: Deserializer | None) -> Deserializer | None:
    """``deserializer`` answering a placeholder instead of raising (``checked_request`` turns it INVALID_ARGUMENT)."""
    # grpc.aio answers a deserializer exception with UNKNOWN.
    if deserializer is None:
        return None

    def deserialize(raw: bytes) -> object:
        try:
            return deserializer(raw)
        except Exception as exc:  # noqa: BLE001 - any parse failure is the client's malformed input
            return _Undecodable(exc)

    return deserialize


def checked_request(request: object) -> object:
    """The request, or INVALID_ARGUMENT when its bytes did not parse (request streams: checked per message)."""
    if isinstance(request, _Undecodable):
        raise errors.InvalidArgument(
            errors.FieldViolation("request", "could not be decoded"), reason="MALFORMED_REQUEST"
        )
    if isinstance(request, AsyncIterator):
        return _checked_stream(request)
    return request


async def _checked_stream(requests: AsyncIterator[object]) -> AsyncIterator[object]:
    async for request in requests:
        yield checked_request(request)
