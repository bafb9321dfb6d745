"""Tracing off: RPCs still run under trace ids (continuing the caller's traceparent) without OpenTelemetry's span."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf import wrappers_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

from ameide_runtime.grpc_chain import Chain, ChainedServer
from ameide_runtime.grpc_tracing import TraceIds, spans_recorded
from ameide_runtime.telemetry import current_traceparent

pytestmark = pytest.mark.unit

SERVICE = "ameide.test.v1.Trace"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


def _seen() -> str:
    span = trace.get_current_span()
    state = span.get_span_context().trace_state.to_header()
    return f"{current_traceparent()}|{state}|{span.is_recording()}"


async def _unary(_request: wrappers_pb2.StringValue, _context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    return wrappers_pb2.StringValue(value=_seen())


async def _stream(
    _request: wrappers_pb2.StringValue, _context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[wrappers_pb2.StringValue]:
    for _ in range(2):
        yield wrappers_pb2.StringValue(value=_seen())


@pytest.fixture(name="target", scope="module")
async def fixture_target() -> AsyncIterator[str]:
    """A server with the trace-ids step (no authentication), serving Unary, Stream and health."""
    server = ChainedServer(grpc.aio.server(), Chain(authenticate=None, in_flight=None, trace_ids=TraceIds()))
    common: dict[str, Any] = {
        "request_deserializer": wrappers_pb2.StringValue.FromString,
        "response_serializer": wrappers_pb2.StringValue.SerializeToString,
    }
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(_unary, **common),
        "Stream": grpc.unary_stream_rpc_method_handler(_stream, **common),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


async def _unary_seen(target: str, metadata: tuple[tuple[str, str], ...] = ()) -> list[str]:
    async with grpc.aio.insecure_channel(target) as channel:
        method = channel.unary_unary(
            f"/{SERVICE}/Unary",
            request_serializer=wrappers_pb2.StringValue.SerializeToString,
            response_deserializer=wrappers_pb2.StringValue.FromString,
        )
        reply = await method(wrappers_pb2.StringValue(), metadata=metadata)
        return str(reply.value).split("|")


def _parts(traceparent: str) -> list[str]:
    version, trace_id, span_id, flags = traceparent.split("-")
    assert (version, len(trace_id), len(span_id)) == ("00", 32, 16)
    assert int(trace_id, 16)
    assert int(span_id, 16)
    return [trace_id, span_id, flags]


async def test_a_call_without_traceparent_gets_a_new_unsampled_trace(target: str) -> None:
    """No caller context: a fresh trace and span id, not sampled, nothing recorded; each call its own trace."""
    first, state, recording = await _unary_seen(target)
    second, _, _ = await _unary_seen(target)
    assert _parts(first)[2] == "00"
    assert (state, recording) == ("", "False")
    assert _parts(first)[0] != _parts(second)[0]


async def test_the_callers_trace_is_continued_with_a_new_span_id(target: str) -> None:
    """A traceparent (and tracestate) from the caller: same trace id, new span id, flags 00 (we do not record)."""
    metadata = (("traceparent", f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"), ("tracestate", "vendor=abc"))
    traceparent, state, recording = await _unary_seen(target, metadata)
    trace_id, span_id, flags = _parts(traceparent)
    assert (trace_id, flags, state, recording) == (CALLER_TRACE, "00", "vendor=abc", "False")
    assert span_id != CALLER_SPAN


async def test_an_invalid_traceparent_starts_a_new_trace(target: str) -> None:
    """Garbage in traceparent is ignored, as OpenTelemetry's propagator does."""
    traceparent, _, _ = await _unary_seen(target, (("traceparent", "00-nonsense-01"),))
    assert _parts(traceparent)[0] != CALLER_TRACE


async def test_streams_run_under_one_trace_context(target: str) -> None:
    """Every message of a streaming RPC sees the same ids, continuing the caller's trace."""
    async with grpc.aio.insecure_channel(target) as channel:
        method = channel.unary_stream(
            f"/{SERVICE}/Stream",
            request_serializer=wrappers_pb2.StringValue.SerializeToString,
            response_deserializer=wrappers_pb2.StringValue.FromString,
        )
        call = method(wrappers_pb2.StringValue(), metadata=(("traceparent", f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"),))
        seen = [reply.value async for reply in call]
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert _parts(seen[0].split("|")[0])[0] == CALLER_TRACE


async def test_health_is_not_wrapped(target: str) -> None:
    """Health checks pass straight through (they carry no trace context worth keeping)."""
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_spans_are_recorded_unless_the_sdk_provider_drops_everything() -> None:
    """Only an SDK provider sampling ALWAYS_OFF selects the trace-ids path; the no-op proxy keeps OpenTelemetry's."""
    assert not spans_recorded(TracerProvider(sampler=ALWAYS_OFF))
    assert spans_recorded(TracerProvider(sampler=ALWAYS_ON))
    assert spans_recorded(TracerProvider())
    assert spans_recorded(trace.ProxyTracerProvider())
