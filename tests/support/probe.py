"""A probe gRPC service whose handlers raise on demand: the request's ``service`` field names the error to raise.

Error-mapping tests serve it through the real server (every per-call step) and read the status the client gets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, NoReturn

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2

from ameide_runtime.grpc_errors import ErrorTable
from ameide_runtime.grpc_server import ServiceBinding

SERVICE = "ameide.test.v1.Probe"
CALLER = (("x-user-id", "u1"), ("x-tenant-id", "t1"))

Errors = Mapping[str, Callable[[], BaseException]]


def probe_binding(errors: Errors, table: ErrorTable | None = None) -> ServiceBinding:
    """The probe service raising ``errors[request.service]()``; ``table`` is its own error table, if any."""

    def raise_(key: str) -> NoReturn:
        error = errors[key]()
        raise error

    async def unary(request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        if request.service == "abort":
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, "handler aborted")
        if request.service == "ok":
            return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
        raise_(request.service)

    async def stream(
        request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[health_pb2.HealthCheckResponse]:
        yield health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
        if request.service == "abort":
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, "handler aborted")
        if request.service != "ok":
            raise_(request.service)

    async def writer_stream(
        request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        await context.write(health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING))
        raise_(request.service)

    def add(_servicer: object, server: grpc.aio.Server) -> None:
        common: dict[str, Any] = {
            "request_deserializer": health_pb2.HealthCheckRequest.FromString,
            "response_serializer": health_pb2.HealthCheckResponse.SerializeToString,
        }
        handlers = {
            "Unary": grpc.unary_unary_rpc_method_handler(unary, **common),
            "Stream": grpc.unary_stream_rpc_method_handler(stream, **common),
            "WriterStream": grpc.unary_stream_rpc_method_handler(writer_stream, **common),
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))

    return ServiceBinding(SERVICE, add, object(), table)


def unary_call(channel: grpc.aio.Channel, method: str = "Unary") -> Any:
    """The probe's unary method."""
    return channel.unary_unary(
        f"/{SERVICE}/{method}",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )


def stream_call(channel: grpc.aio.Channel, method: str = "Stream") -> Any:
    """The probe's streaming method."""
    return channel.unary_stream(
        f"/{SERVICE}/{method}",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )


async def drain(call: Any, received: list[object] | None = None) -> int:
    """Read a streaming call to its end; return how many messages came."""
    sink = [] if received is None else received
    async for message in call:
        sink.append(message)
    return len(sink)
