"""Graceful shutdown in-process: NOT_SERVING first, in-flight RPCs finish while new ones are still served."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf import wrappers_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from ameide_runtime.grpc_server import ServiceBinding, serve
from ameide_runtime.metrics import InFlight
from ameide_runtime.settings import AuthSettings, ServerSettings

pytestmark = pytest.mark.unit

SERVICE = "ameide.test.v1.Drain"
CALLER = (("x-user-id", "u1"), ("x-tenant-id", "t1"))
WAIT = 30.0


class _Slow:
    """``Hold`` waits for ``release``; ``Echo`` answers at once."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def hold(self, request: wrappers_pb2.StringValue, _context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        self.entered.set()
        await self.release.wait()
        return request

    async def echo(self, request: wrappers_pb2.StringValue, _context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        return request

    def add(self, _servicer: object, server: grpc.aio.Server) -> None:
        handlers = {
            name: grpc.unary_unary_rpc_method_handler(
                behavior,
                request_deserializer=wrappers_pb2.StringValue.FromString,
                response_serializer=wrappers_pb2.StringValue.SerializeToString,
            )
            for name, behavior in (("Hold", self.hold), ("Echo", self.echo))
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


@contextlib.asynccontextmanager
async def _server(slow: _Slow, grace: float) -> AsyncIterator[tuple[str, asyncio.Event, asyncio.Task[None]]]:
    settings = ServerSettings(bind_host="127.0.0.1", shutdown_grace_seconds=grace)
    stop = asyncio.Event()
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(
            settings,
            AuthSettings(auth="insecure-headers"),
            [ServiceBinding(SERVICE, slow.add, object())],
            port=0,
            metrics_port=None,
            ready=bound.set_result,
            stop=stop,
        )
    )
    port = await bound
    try:
        yield f"127.0.0.1:{port}", stop, task
    finally:
        stop.set()
        slow.release.set()
        await task


async def _call(channel: grpc.aio.Channel, method: str, text: str) -> str:
    call = channel.unary_unary(
        f"/{SERVICE}/{method}",
        request_serializer=wrappers_pb2.StringValue.SerializeToString,
        response_deserializer=wrappers_pb2.StringValue.FromString,
    )
    reply = await call(wrappers_pb2.StringValue(value=text), metadata=CALLER)
    return str(reply.value)


async def _health(target: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        return int(reply.status)


async def test_in_flight_rpc_completes_after_stop_while_health_says_not_serving() -> None:
    """Stop: NOT_SERVING at once, the held RPC still completes OK, a new RPC is served, then the server ends."""
    slow = _Slow()
    async with _server(slow, grace=WAIT) as (target, stop, task), grpc.aio.insecure_channel(target) as channel:
        held = asyncio.create_task(_call(channel, "Hold", "held"))
        await asyncio.wait_for(slow.entered.wait(), WAIT)
        assert REGISTRY.get_sample_value("ameide_rpc_in_flight", {"method": f"/{SERVICE}/Hold"}) == 1
        stop.set()
        async with asyncio.timeout(WAIT):
            while await _health(target) != health_pb2.HealthCheckResponse.NOT_SERVING:  # noqa: ASYNC110 - polls the server
                await asyncio.sleep(0.01)
        assert not task.done()
        assert await _call(channel, "Echo", "during drain") == "during drain"
        slow.release.set()
        assert await held == "held"
        await asyncio.wait_for(task, WAIT)
    assert REGISTRY.get_sample_value("ameide_rpc_in_flight", {"method": f"/{SERVICE}/Hold"}) == 0


async def test_an_rpc_that_outlives_the_grace_period_is_cut() -> None:
    """The grace period bounds the drain: a call that never finishes is cancelled and the server stops."""
    slow = _Slow()
    async with _server(slow, grace=0.2) as (target, stop, task), grpc.aio.insecure_channel(target) as channel:
        held = asyncio.create_task(_call(channel, "Hold", "never"))
        await asyncio.wait_for(slow.entered.wait(), WAIT)
        stop.set()
        await asyncio.wait_for(task, WAIT)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await held
    assert caught.value.code() in {grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE}


async def test_in_flight_counter_waits_for_idle() -> None:
    """wait_idle returns True once the last RPC leaves, False when the time runs out first."""
    in_flight = InFlight()
    assert await in_flight.wait_idle(0)
    in_flight.enter()
    assert not await in_flight.wait_idle(0.01)
    asyncio.get_running_loop().call_soon(in_flight.leave)
    assert await in_flight.wait_idle(WAIT)
    assert len(in_flight) == 0
