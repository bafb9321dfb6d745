"""Server lifecycle: health, reflection, graceful shutdown, the health-only worker, and RPC metrics."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf import wrappers_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client import REGISTRY

from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc
from ameide_runtime.grpc_server import ServiceBinding, run_worker, serve
from ameide_runtime.settings import AuthSettings, ServerSettings
from tests.support.inprocess import serving

pytestmark = pytest.mark.unit

CHAT_COMMANDS = threads_service_pb2.DESCRIPTOR.services_by_name["ChatCommandService"].full_name
ECHO = "ameide.test.v1.Echo"
AUTH = AuthSettings(auth="insecure-headers")
SERVER = ServerSettings(grpc_max_message_bytes=64 * 1024, shutdown_grace_seconds=2)
CALLER = (("x-user-id", "u1"), ("x-tenant-id", "t1"))


async def _echo(request: wrappers_pb2.BytesValue, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    return request


def _add_echo(_servicer: object, server: grpc.aio.Server) -> None:
    handler = grpc.unary_unary_rpc_method_handler(
        _echo,
        request_deserializer=wrappers_pb2.BytesValue.FromString,
        response_serializer=wrappers_pb2.BytesValue.SerializeToString,
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(ECHO, {"Echo": handler}),))


BINDINGS = [
    ServiceBinding(
        CHAT_COMMANDS,
        threads_service_pb2_grpc.add_ChatCommandServiceServicer_to_server,
        threads_service_pb2_grpc.ChatCommandServiceServicer(),  # type: ignore[abstract]
    ),
    ServiceBinding(ECHO, _add_echo, object()),
]


async def _health(target: str, service: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
        return int(reply.status)


async def _listed_services(target: str) -> set[str]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        async for reply in stub.ServerReflectionInfo(iter([request])):
            return {service.name for service in reply.list_services_response.service}
    return set()


async def _echo_call(target: str, size: int) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        method = channel.unary_unary(
            f"/{ECHO}/Echo",
            request_serializer=wrappers_pb2.BytesValue.SerializeToString,
            response_deserializer=wrappers_pb2.BytesValue.FromString,
        )
        reply = await method(wrappers_pb2.BytesValue(value=b"x" * size), metadata=CALLER)
        return len(reply.value)


class TestServe:
    async def test_health_serving_for_server_and_each_service(self) -> None:
        """Health answers SERVING for "" and every binding's full name."""
        async with serving(AUTH, BINDINGS, server=SERVER) as server:
            statuses = [await _health(server.target, name) for name in ("", CHAT_COMMANDS, ECHO)]
        assert statuses == [health_pb2.HealthCheckResponse.SERVING] * 3

    async def test_reflection_lists_services(self) -> None:
        """Reflection lists every binding plus health and reflection."""
        async with serving(AUTH, BINDINGS, server=SERVER) as server:
            listed = await _listed_services(server.target)
        assert {CHAT_COMMANDS, ECHO, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= listed

    async def test_unimplemented_rpc_is_unimplemented(self) -> None:
        """An RPC the servicer does not implement answers UNIMPLEMENTED (the generated default)."""
        async with (
            serving(AUTH, BINDINGS, server=SERVER) as server,
            grpc.aio.insecure_channel(server.target) as channel,
        ):
            stub = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.CreateChat(threads_service_pb2.CreateChatRequest(), metadata=CALLER)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED

    async def test_message_size_limit(self) -> None:
        """Requests above AMEIDE_GRPC_MAX_MESSAGE_BYTES are refused with RESOURCE_EXHAUSTED."""
        async with serving(AUTH, BINDINGS, server=SERVER) as server:
            assert await _echo_call(server.target, 1000) == 1000
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await _echo_call(server.target, 100 * 1024)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

    async def test_shutdown_turns_health_off_before_callbacks(self) -> None:
        """On stop, health is NOT_SERVING by the time shutdown callbacks run, and every callback runs."""
        seen: list[int] = []
        target: list[str] = []

        async def callback() -> None:
            seen.append(await _health(target[0], ""))

        async with serving(AUTH, BINDINGS, server=SERVER, on_shutdown=[callback]) as server:
            target.append(server.target)
        assert seen == [health_pb2.HealthCheckResponse.NOT_SERVING]

    async def test_port_in_use_is_a_clear_error(self) -> None:
        """A second server on a port in use fails to start instead of sharing it."""
        async with serving(AUTH, BINDINGS, server=SERVER) as first:
            settings = dataclasses.replace(SERVER, bind_host="127.0.0.1")
            with pytest.raises(OSError, match="cannot listen"):
                await serve(settings, AUTH, BINDINGS, port=first.port, metrics_port=None, stop=asyncio.Event())

    async def test_rpc_metrics_count_by_method_and_code(self) -> None:
        """Handled RPCs are counted by method and status code."""
        labels = {"method": f"/{ECHO}/Echo", "code": "OK"}
        before = REGISTRY.get_sample_value("ameide_rpc_requests_total", labels) or 0.0
        async with serving(AUTH, BINDINGS, server=SERVER) as server:
            await _echo_call(server.target, 10)
        assert REGISTRY.get_sample_value("ameide_rpc_requests_total", labels) == before + 1


@contextlib.asynccontextmanager
async def _worker(run: Any) -> AsyncIterator[tuple[int, asyncio.Event, asyncio.Task[None]]]:
    stop = asyncio.Event()
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    settings = dataclasses.replace(SERVER, bind_host="127.0.0.1")
    task = asyncio.create_task(
        run_worker(
            settings,
            run,
            service_name="ameide.projector",
            health_port=0,
            metrics_port=None,
            ready=bound.set_result,
            stop=stop,
        )
    )
    yield await bound, stop, task


class TestRunWorker:
    async def test_worker_serves_health_and_stops_on_signal(self) -> None:
        """The worker's health is SERVING while it runs; stop reaches the worker, which ends cleanly."""
        stopped = asyncio.Event()

        async def run(stop: asyncio.Event) -> None:
            await stop.wait()
            stopped.set()

        async with _worker(run) as (port, stop, task):
            assert await _health(f"127.0.0.1:{port}", "ameide.projector") == health_pb2.HealthCheckResponse.SERVING
            stop.set()
            await task
        assert stopped.is_set()

    async def test_worker_crash_is_raised(self) -> None:
        """A crashing worker ends run_worker with its exception."""

        async def run(stop: asyncio.Event) -> None:
            raise RuntimeError("projection failed")

        async with _worker(run) as (_, _stop, task):
            with pytest.raises(RuntimeError, match="projection failed"):
                await task
