"""Application errors every deployable raises; ``ameide_runtime.grpc_errors`` maps them to gRPC statuses.

The table (design.md section 8): InvalidArgument -> INVALID_ARGUMENT (BadRequest field violations),
NotFound -> NOT_FOUND, PermissionDenied -> PERMISSION_DENIED, Unauthenticated -> UNAUTHENTICATED,
FailedPrecondition -> FAILED_PRECONDITION (ErrorInfo reason), Aborted -> ABORTED, Unavailable -> UNAVAILABLE,
ResourceExhausted -> RESOURCE_EXHAUSTED. Anything else -> INTERNAL with a generic message.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One invalid request field: ``field`` is its path (e.g. ``message.parts[0].text``)."""

    field: str
    description: str


class AmeideError(Exception):
    """Base of every error meant for the client. ``reason`` is the ErrorInfo reason (UPPER_SNAKE)."""

    reason: str = "ERROR"

    def __init__(self, message: str, *, reason: str | None = None, metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata = dict(metadata or {})


class InvalidArgument(AmeideError):  # noqa: N818 - named after the status code it maps to
    """The request is malformed; ``violations`` say which fields and why."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation] | FieldViolation, *, reason: str | None = None) -> None:
        items = violations if isinstance(violations, list) else [violations]
        text = "; ".join(f"{v.field}: {v.description}" for v in items) or "invalid request"
        super().__init__(text, reason=reason)
        self.violations = items


class NotFound(AmeideError):  # noqa: N818 - named after the status code it maps to
    """The resource does not exist for this caller (unknown, deleted, another tenant's, or not readable)."""

    reason = "NOT_FOUND"


class PermissionDenied(AmeideError):  # noqa: N818 - named after the status code it maps to
    """The caller is known but may not do this."""

    reason = "PERMISSION_DENIED"


class Unauthenticated(AmeideError):  # noqa: N818 - named after the status code it maps to
    """No or invalid credentials."""

    reason = "UNAUTHENTICATED"


class FailedPrecondition(AmeideError):  # noqa: N818 - named after the status code it maps to
    """The system is not in a state that allows this; ``reason`` says which (e.g. IDEMPOTENCY_KEY_REUSED)."""

    reason = "FAILED_PRECONDITION"


class Aborted(AmeideError):  # noqa: N818 - named after the status code it maps to
    """A concurrency conflict that persisted after retries: the client may retry."""

    reason = "ABORTED"


class Unavailable(AmeideError):  # noqa: N818 - named after the status code it maps to
    """A transient failure (database down, projection behind): safe to retry, maybe after ``retry_after_ms``."""

    reason = "UNAVAILABLE"

    def __init__(self, message: str, *, reason: str | None = None, retry_after_ms: int | None = None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after_ms = retry_after_ms


class ResourceExhausted(AmeideError):  # noqa: N818 - named after the status code it maps to
    """A limit was hit (e.g. a stream subscriber fell too far behind)."""

    reason = "RESOURCE_EXHAUSTED"
