"""The command service's one table from its own errors to gRPC statuses: the codes, reasons and details clients see.

The domain's refusals, the write path's and the event store's errors. What every deployable shares (malformed
requests and tokens, unreachable stores, anything unexpected) is ``ameide_runtime.grpc_errors``'s. The table
travels with the service bindings (``bootstrap``), so the server consults it before those shared rules.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from ameide_command.application.errors import KeptChangingError, KeyReusedError, WriteRefusedError
from ameide_command.domain.errors import (
    DomainError,
    InvalidCommandError,
    NotFoundError,
    PermissionDeniedError,
    VersionConflictError,
)
from ameide_eventstore import errors as store
from ameide_runtime.errors import FieldViolation
from ameide_runtime.grpc_errors import ErrorDescription, ErrorTable, store_unavailable

Code = grpc.StatusCode


def _refusal(code: grpc.StatusCode) -> Callable[[DomainError | WriteRefusedError], ErrorDescription]:
    def describe(exc: DomainError | WriteRefusedError) -> ErrorDescription:
        return ErrorDescription(code, str(exc), exc.reason)

    return describe


def _invalid(exc: InvalidCommandError) -> ErrorDescription:
    violations = tuple(FieldViolation(v.field, v.description) for v in exc.violations)
    return ErrorDescription(Code.INVALID_ARGUMENT, str(exc), exc.reason, violations=violations)


def _concurrent(exc: store.ConcurrencyError) -> ErrorDescription:
    return ErrorDescription(
        Code.ABORTED,
        "the resource was changed concurrently; reload and retry",
        "CONCURRENT_MODIFICATION",
        {"stream_id": str(exc.stream_id), "expected_version": str(exc.expected), "actual_version": str(exc.actual)},
    )


def _fixed(code: grpc.StatusCode, message: str, reason: str) -> Callable[[BaseException], ErrorDescription]:
    def describe(_exc: BaseException) -> ErrorDescription:
        return ErrorDescription(code, message, reason)

    return describe


COMMAND_ERRORS: ErrorTable = {
    # The domain's rules.
    NotFoundError: _refusal(Code.NOT_FOUND),
    PermissionDeniedError: _refusal(Code.PERMISSION_DENIED),
    InvalidCommandError: _invalid,
    VersionConflictError: _refusal(Code.ABORTED),
    DomainError: _refusal(Code.FAILED_PRECONDITION),  # a rule without its own row: not in the current state
    # The write path.
    KeyReusedError: _refusal(Code.FAILED_PRECONDITION),
    KeptChangingError: _refusal(Code.ABORTED),
    WriteRefusedError: _refusal(Code.FAILED_PRECONDITION),
    # The event store (what escapes the write path's own handling).
    store.ConcurrencyError: _concurrent,
    store.IdempotencyKeyReusedError: _fixed(
        Code.FAILED_PRECONDITION, "idempotency key was already used with a different request", "IDEMPOTENCY_KEY_REUSED"
    ),
    store.DuplicateEventError: _fixed(Code.ABORTED, "the write conflicted with another one; retry", "DUPLICATE"),
    # Another tenant's resource must look absent (no existence leak).
    store.TenantMismatchError: _fixed(Code.NOT_FOUND, "not found", "NOT_FOUND"),
    store.TransientStoreError: lambda _exc: store_unavailable(),
}
