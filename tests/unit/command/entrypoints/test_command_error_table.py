"""The command service's error table: its domain, write-path and event-store errors become the documented statuses.

Served through the real server (every per-call step), as the command bindings carry the table.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2

from ameide_command.application.errors import KeptChangingError, KeyReusedError
from ameide_command.domain.errors import (
    DomainError,
    InvalidCommandError,
    NotFoundError,
    PermissionDeniedError,
    VersionConflictError,
    Violation,
)
from ameide_command.entrypoints.errors import COMMAND_ERRORS
from ameide_eventstore import errors as store_errors
from ameide_runtime import errors
from ameide_runtime.settings import AuthSettings
from tests.support.grpc_status import details_of
from tests.support.inprocess import Running, serving
from tests.support.probe import CALLER, drain, probe_binding, stream_call, unary_call

pytestmark = pytest.mark.unit

STREAM_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")

ERRORS: dict[str, Callable[[], BaseException]] = {
    "chat_not_found": lambda: NotFoundError("chat c1 not found"),
    "link_not_found": lambda: NotFoundError("chat c1 is not linked to artifact a1", reason="LINK_NOT_FOUND"),
    "not_owner": lambda: PermissionDeniedError("only the owner may change chat c1", reason="NOT_CHAT_OWNER"),
    "invalid": lambda: InvalidCommandError(Violation("visibility", "must be PRIVATE, TEAM or PUBLIC")),
    "version": lambda: VersionConflictError("artifact a1 is at version 2, not 1"),
    "rule": lambda: DomainError("not now", reason="SOME_RULE"),
    "key_reused": KeyReusedError,
    "kept_changing": KeptChangingError,
    "concurrency": lambda: store_errors.ConcurrencyError(STREAM_ID, 1, 2),
    "idempotency": lambda: store_errors.IdempotencyKeyReusedError("k1"),
    "transient": lambda: store_errors.TransientStoreError("db down"),
    "duplicate": lambda: store_errors.DuplicateEventError(STREAM_ID),
    "tenant": lambda: store_errors.TenantMismatchError("other tenant"),
    "shared": lambda: errors.InvalidArgument(errors.FieldViolation("title", "too long")),
    "unexpected": lambda: RuntimeError("secret internal detail"),
}

EXPECTED: dict[str, tuple[grpc.StatusCode, str, str]] = {
    "chat_not_found": (grpc.StatusCode.NOT_FOUND, "NOT_FOUND", "chat c1 not found"),
    "link_not_found": (grpc.StatusCode.NOT_FOUND, "LINK_NOT_FOUND", "chat c1 is not linked to artifact a1"),
    "not_owner": (grpc.StatusCode.PERMISSION_DENIED, "NOT_CHAT_OWNER", "only the owner may change chat c1"),
    "invalid": (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", "visibility: must be PRIVATE, TEAM or PUBLIC"),
    "version": (grpc.StatusCode.ABORTED, "VERSION_MISMATCH", "artifact a1 is at version 2, not 1"),
    "rule": (grpc.StatusCode.FAILED_PRECONDITION, "SOME_RULE", "not now"),
    "key_reused": (
        grpc.StatusCode.FAILED_PRECONDITION,
        "IDEMPOTENCY_KEY_REUSED",
        "idempotency key was already used with a different request",
    ),
    "kept_changing": (
        grpc.StatusCode.ABORTED,
        "CONCURRENT_MODIFICATION",
        "the chat or artifact kept changing concurrently; retry (with the same idempotency key)",
    ),
    "concurrency": (
        grpc.StatusCode.ABORTED,
        "CONCURRENT_MODIFICATION",
        "the resource was changed concurrently; reload and retry",
    ),
    "idempotency": (
        grpc.StatusCode.FAILED_PRECONDITION,
        "IDEMPOTENCY_KEY_REUSED",
        "idempotency key was already used with a different request",
    ),
    "transient": (grpc.StatusCode.UNAVAILABLE, "STORE_UNAVAILABLE", "a backing store is unavailable; retry"),
    "duplicate": (grpc.StatusCode.ABORTED, "DUPLICATE", "the write conflicted with another one; retry"),
    "tenant": (grpc.StatusCode.NOT_FOUND, "NOT_FOUND", "not found"),
    "shared": (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", "title: too long"),
    "unexpected": (grpc.StatusCode.INTERNAL, "INTERNAL", "internal error"),
}


@pytest.fixture(name="server", scope="module")
async def fixture_server() -> AsyncIterator[Running]:
    """The probe service with the command service's error table, served through every per-call step."""
    async with serving(AuthSettings(auth="insecure-headers"), [probe_binding(ERRORS, COMMAND_ERRORS)]) as running:
        yield running


@pytest.fixture(name="channel")
async def fixture_channel(server: Running) -> AsyncIterator[grpc.aio.Channel]:
    """A client channel to the probe server."""
    async with grpc.aio.insecure_channel(server.target) as channel:
        yield channel


class TestCommandErrors:
    @pytest.mark.parametrize("key", sorted(ERRORS))
    async def test_error_maps_to_documented_status(self, channel: grpc.aio.Channel, key: str) -> None:
        """Each error answers its status code, ErrorInfo reason and message, in the ameide.threads domain."""
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await unary_call(channel)(health_pb2.HealthCheckRequest(service=key), metadata=CALLER)
        details = details_of(caught.value)
        assert EXPECTED[key] == (details.code, details.reason, details.message)
        assert details.domain == "ameide.threads"

    @pytest.mark.parametrize("key", sorted(ERRORS))
    async def test_error_after_first_message_maps(self, channel: grpc.aio.Channel, key: str) -> None:
        """A streaming handler failing mid-stream ends with the same status."""
        call = stream_call(channel)(health_pb2.HealthCheckRequest(service=key), metadata=CALLER)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await drain(call)
        assert EXPECTED[key][:2] == (details_of(caught.value).code, details_of(caught.value).reason)

    async def test_invalid_command_carries_field_violations(self, channel: grpc.aio.Channel) -> None:
        """A domain InvalidCommandError lists its fields in BadRequest."""
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await unary_call(channel)(health_pb2.HealthCheckRequest(service="invalid"), metadata=CALLER)
        assert {"visibility": "must be PRIVATE, TEAM or PUBLIC"} == details_of(caught.value).field_violations

    async def test_concurrency_error_names_versions(self, channel: grpc.aio.Channel) -> None:
        """ConcurrencyError reports the stream and both versions in ErrorInfo metadata."""
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await unary_call(channel)(health_pb2.HealthCheckRequest(service="concurrency"), metadata=CALLER)
        expected = {"stream_id": str(STREAM_ID), "expected_version": "1", "actual_version": "2"}
        assert expected == details_of(caught.value).metadata

    async def test_transient_store_error_carries_retry_info(self, channel: grpc.aio.Channel) -> None:
        """TransientStoreError is retryable: RetryInfo says after how long."""
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await unary_call(channel)(health_pb2.HealthCheckRequest(service="transient"), metadata=CALLER)
        assert details_of(caught.value).retry_after_ms == 200
