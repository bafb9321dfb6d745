"""The error step: every shared error class becomes its documented status with google.rpc details, never UNKNOWN.

The command service's own errors (domain, write path, event store) are its table's: tests/unit/command.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import grpc.aio
import psycopg
import pytest
import redis.exceptions
import sqlalchemy.exc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health_pb2

from ameide_runtime import errors
from ameide_runtime.settings import AuthSettings
from ameide_runtime.tokens import InvalidToken
from tests.support.grpc_status import details_of
from tests.support.inprocess import Running, serving
from tests.support.probe import CALLER, SERVICE, drain, probe_binding, stream_call, unary_call

pytestmark = pytest.mark.unit


ERRORS: dict[str, Callable[[], BaseException]] = {
    "invalid": lambda: errors.InvalidArgument(
        [errors.FieldViolation("title", "too long"), errors.FieldViolation("threads_id", "not a UUID")]
    ),
    "not_found": lambda: errors.NotFound("chat not found"),
    "denied": lambda: errors.PermissionDenied("not yours", reason="NOT_OWNER"),
    "unauthenticated": lambda: errors.Unauthenticated("who are you"),
    "precondition": lambda: errors.FailedPrecondition("expired", reason="RESUME_TOKEN_EXPIRED"),
    "aborted": lambda: errors.Aborted("conflict"),
    "unavailable": lambda: errors.Unavailable("projection behind", retry_after_ms=750),
    "exhausted": lambda: errors.ResourceExhausted("too slow", reason="FELL_BEHIND"),
    "bare": lambda: errors.AmeideError("refused", reason="SOME_RULE"),
    "sa_operational": lambda: sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused")),
    "psycopg_operational": lambda: psycopg.OperationalError("server closed the connection"),
    "redis_connection": lambda: redis.exceptions.ConnectionError("redis down"),
    "os_connection": lambda: ConnectionRefusedError("refused"),
    "decode": lambda: DecodeError("truncated"),
    "token": lambda: InvalidToken("token signature does not match"),
    "unimplemented": lambda: NotImplementedError("not yet"),
    "value": lambda: ValueError("secret internal detail"),
    "runtime": lambda: RuntimeError("secret internal detail"),
}

EXPECTED: dict[str, tuple[grpc.StatusCode, str]] = {
    "invalid": (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
    "not_found": (grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
    "denied": (grpc.StatusCode.PERMISSION_DENIED, "NOT_OWNER"),
    "unauthenticated": (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED"),
    "precondition": (grpc.StatusCode.FAILED_PRECONDITION, "RESUME_TOKEN_EXPIRED"),
    "aborted": (grpc.StatusCode.ABORTED, "ABORTED"),
    "unavailable": (grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE"),
    "exhausted": (grpc.StatusCode.RESOURCE_EXHAUSTED, "FELL_BEHIND"),
    "bare": (grpc.StatusCode.FAILED_PRECONDITION, "SOME_RULE"),
    "sa_operational": (grpc.StatusCode.UNAVAILABLE, "STORE_UNAVAILABLE"),
    "psycopg_operational": (grpc.StatusCode.UNAVAILABLE, "STORE_UNAVAILABLE"),
    "redis_connection": (grpc.StatusCode.UNAVAILABLE, "STORE_UNAVAILABLE"),
    "os_connection": (grpc.StatusCode.UNAVAILABLE, "STORE_UNAVAILABLE"),
    "decode": (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST"),
    "token": (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_TOKEN"),
    "unimplemented": (grpc.StatusCode.UNIMPLEMENTED, "UNIMPLEMENTED"),
    "value": (grpc.StatusCode.INTERNAL, "INTERNAL"),
    "runtime": (grpc.StatusCode.INTERNAL, "INTERNAL"),
}


@pytest.fixture(name="server", scope="module")
async def fixture_server() -> AsyncIterator[Running]:
    """A real grpc.aio server on an ephemeral port serving the probe service through every interceptor."""
    async with serving(AuthSettings(auth="insecure-headers"), [probe_binding(ERRORS)]) as running:
        yield running


@pytest.fixture(name="channel")
async def fixture_channel(server: Running) -> AsyncIterator[grpc.aio.Channel]:
    """A client channel to the probe server."""
    async with grpc.aio.insecure_channel(server.target) as channel:
        yield channel


class TestUnaryMapping:
    @pytest.mark.parametrize("key", sorted(ERRORS))
    async def test_error_maps_to_documented_status(self, channel: grpc.aio.Channel, key: str) -> None:
        """Each error class answers its status code with ErrorInfo(reason, domain) and never UNKNOWN."""
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await unary_call(channel)(health_pb2.HealthCheckRequest(service=key), metadata=CALLER)
        details = details_of(caught.value)
        assert EXPECTED[key] == (details.code, details.reason)
        assert details.domain == "ameide.threads"
        assert "secret internal detail" not in details.message

    async def test_invalid_argument_carries_field_violations(self, channel: grpc.aio.Channel) -> None:
        """InvalidArgument lists every violated field in BadRequest."""
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await unary_call(channel)(health_pb2.HealthCheckRequest(service="invalid"), metadata=CALLER)
        assert {"title": "too long", "threads_id": "not a UUID"} == details_of(caught.value).field_violations

    async def test_unavailable_carries_retry_info(self, channel: grpc.aio.Channel) -> None:
        """Unavailable(retry_after_ms) becomes RetryInfo.retry_delay."""
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await unary_call(channel)(health_pb2.HealthCheckRequest(service="unavailable"), metadata=CALLER)
        assert details_of(caught.value).retry_after_ms == 750

    async def test_internal_message_is_generic(self, channel: grpc.aio.Channel) -> None:
        """An unexpected error says only "internal error"; the detail stays in the log."""
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await unary_call(channel)(health_pb2.HealthCheckRequest(service="runtime"), metadata=CALLER)
        assert details_of(caught.value).message == "internal error"

    async def test_abort_passes_through(self, channel: grpc.aio.Channel) -> None:
        """A handler's own context.abort keeps its code and message."""
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await unary_call(channel)(health_pb2.HealthCheckRequest(service="abort"), metadata=CALLER)
        assert (grpc.StatusCode.OUT_OF_RANGE, "handler aborted") == (caught.value.code(), caught.value.details())

    async def test_success_is_untouched(self, channel: grpc.aio.Channel) -> None:
        """A successful handler's reply goes through unchanged."""
        reply = await unary_call(channel)(health_pb2.HealthCheckRequest(service="ok"), metadata=CALLER)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

    async def test_undecodable_request_is_invalid_argument(self, channel: grpc.aio.Channel) -> None:
        """Bytes that are not the request message answer INVALID_ARGUMENT, not UNKNOWN."""
        raw: Any = channel.unary_unary(f"/{SERVICE}/Unary", request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw(b"\xff\xff\xff\xff", metadata=CALLER)
        details = details_of(caught.value)
        assert (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST") == (details.code, details.reason)


class TestStreamMapping:
    @pytest.mark.parametrize("key", sorted(ERRORS))
    async def test_error_after_first_message_maps(self, channel: grpc.aio.Channel, key: str) -> None:
        """A streaming handler failing mid-stream ends with the mapped status after the sent messages."""
        call = stream_call(channel)(health_pb2.HealthCheckRequest(service=key), metadata=CALLER)
        received: list[object] = []
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await drain(call, received)
        assert len(received) == 1
        assert EXPECTED[key] == (details_of(caught.value).code, details_of(caught.value).reason)

    async def test_writer_api_stream_maps(self, channel: grpc.aio.Channel) -> None:
        """Handlers using context.write are wrapped too."""
        call = stream_call(channel, "WriterStream")(health_pb2.HealthCheckRequest(service="not_found"), metadata=CALLER)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await drain(call)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    async def test_abort_passes_through(self, channel: grpc.aio.Channel) -> None:
        """A streaming handler's own context.abort keeps its code."""
        call = stream_call(channel)(health_pb2.HealthCheckRequest(service="abort"), metadata=CALLER)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await drain(call)
        assert caught.value.code() == grpc.StatusCode.OUT_OF_RANGE

    async def test_complete_stream_is_untouched(self, channel: grpc.aio.Channel) -> None:
        """A stream that ends normally delivers all its messages with OK."""
        call = stream_call(channel)(health_pb2.HealthCheckRequest(service="ok"), metadata=CALLER)
        assert await drain(call) == 1
        assert await call.code() == grpc.StatusCode.OK

    async def test_undecodable_request_is_invalid_argument(self, channel: grpc.aio.Channel) -> None:
        """A streaming RPC whose request does not decode answers INVALID_ARGUMENT."""
        raw: Any = channel.unary_stream(f"/{SERVICE}/Stream", request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await drain(raw(b"\xff\xff\xff\xff", metadata=CALLER))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
