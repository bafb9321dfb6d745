"""Prometheus metrics: the HTTP endpoint of each deployable and the RPC metrics interceptor.

With ``ameide serve --workers N`` the supervisor sets ``PROMETHEUS_MULTIPROC_DIR`` for its workers and serves
their aggregated metrics itself (``start_metrics_server(..., multiprocess_dir=...)``); otherwise each process
serves its own registry.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import grpc.aio
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client import multiprocess as prometheus_multiprocess

from ameide_runtime.grpc_wrap import Continuation, StreamBehavior, UnaryBehavior, wrap_handler

RPC_REQUESTS = Counter("ameide_rpc_requests_total", "RPCs handled, by method and status code.", ["method", "code"])
RPC_DURATION = Histogram(
    "ameide_rpc_duration_seconds",
    "RPC handling time (streams: until the stream ends), by method and status code.",
    ["method", "code"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0),
)


def start_metrics_server(port: int, host: str, *, multiprocess_dir: str | None = None) -> Callable[[], None]:
    """Serve ``/metrics`` on ``host:port`` in a background thread; return a function that stops it.

    With ``multiprocess_dir``, serve the metrics that worker processes write there instead of this process's own.
    """
    registry: CollectorRegistry = REGISTRY
    if multiprocess_dir is not None:
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
    server, thread = start_http_server(port, addr=host, registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


def _code_name(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    code = context.code()
    if code is None:
        return "OK"
    if isinstance(code, grpc.StatusCode):
        return code.name
    by_value = {status.value[0]: status.name for status in grpc.StatusCode}
    return by_value.get(int(code), "UNKNOWN")


class _MetricsWrapper:
    def __init__(self, method: str) -> None:
        self._method = method

    def _observe(self, context: grpc.aio.ServicerContext[Any, Any], started: float, code: str | None) -> None:
        code = code or _code_name(context)
        RPC_REQUESTS.labels(self._method, code).inc()
        RPC_DURATION.labels(self._method, code).observe(time.perf_counter() - started)

    def unary(self, behavior: UnaryBehavior) -> UnaryBehavior:
        async def wrapped(request: object, context: grpc.aio.ServicerContext[Any, Any]) -> object:
            started, code = time.perf_counter(), None
            try:
                return await behavior(request, context)
            except grpc.aio.AbortError:
                raise
            except BaseException:
                code = "CANCELLED"
                raise
            finally:
                self._observe(context, started, code)

        return wrapped

    def stream(self, behavior: StreamBehavior) -> StreamBehavior:
        async def wrapped(request: object, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[object]:
            started, code = time.perf_counter(), None
            try:
                async for response in behavior(request, context):
                    yield response
            except grpc.aio.AbortError:
                raise
            except BaseException:
                code = "CANCELLED"
                raise
            finally:
                self._observe(context, started, code)

        return wrapped


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts RPCs and observes their latency by method and final status code."""

    async def intercept_service(
        self,
        continuation: Continuation,
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        """Wrap the method's handler with timing and counting."""
        handler = await continuation(handler_call_details)
        return wrap_handler(handler, _MetricsWrapper(handler_call_details.method))
