"""Prometheus metrics: the HTTP endpoint of each deployable, per-method RPC metrics, in-flight RPCs.

With ``ameide serve --workers N`` the supervisor sets ``PROMETHEUS_MULTIPROC_DIR`` for its workers and serves
their aggregated metrics itself (``start_metrics_server(..., multiprocess_dir=...)``); otherwise each process
serves its own registry. Gauges therefore say how workers combine (``multiprocess_mode``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client import multiprocess as prometheus_multiprocess

RPC_REQUESTS = Counter("ameide_rpc_requests_total", "RPCs handled, by method and status code.", ["method", "code"])
RPC_DURATION = Histogram(
    "ameide_rpc_duration_seconds",
    "RPC handling time (streams: until the stream ends), by method and status code.",
    ["method", "code"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0),
)
RPC_IN_FLIGHT = Gauge(
    "ameide_rpc_in_flight",
    "RPCs being handled right now (streams until they end), by method.",
    ["method"],
    multiprocess_mode="livesum",
)
IDEMPOTENCY_HITS = Counter(
    "ameide_command_idempotency_hits_total",
    "Commands answered with the stored response of an earlier request with the same idempotency key.",
)


class InFlight:
    """The RPCs a server is handling (health and reflection aside), so shutdown can wait for them to finish."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def __len__(self) -> int:
        return self._count

    def enter(self) -> None:
        """An RPC started."""
        self._count += 1
        self._idle.clear()

    def leave(self) -> None:
        """An RPC ended (whatever its outcome)."""
        self._count -= 1
        if not self._count:
            self._idle.set()

    async def wait_idle(self, seconds: float) -> bool:
        """Wait (at most ``seconds``) until no RPC is in flight; True when none is."""
        if seconds > 0:
            try:
                async with asyncio.timeout(seconds):
                    await self._idle.wait()
            except TimeoutError:
                pass
        return not self._count


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


class MethodMetrics:
    """The RPC metrics of one method: in flight while it runs, then counted and timed by final status code.

    Args:
        method: The full method name (``/package.Service/Method``).
        in_flight: Where the server's application RPCs are counted while they run (health and reflection are not:
            a kubelet's or client's health watch must not hold up a drain).
    """

    __slots__ = ("_by_code", "_gauge", "_in_flight", "_method")

    def __init__(self, method: str, in_flight: InFlight | None) -> None:
        self._method = method
        self._gauge = RPC_IN_FLIGHT.labels(method)
        self._in_flight = in_flight
        # The counter and histogram of each status code seen, looked up once: ``labels()`` takes a lock and
        # builds a key on every call, which showed in the per-RPC profile.
        self._by_code: dict[str, tuple[Counter, Histogram]] = {}

    def enter(self) -> float:
        """An RPC started; returns its start time for ``observe``."""
        self._gauge.inc()
        if self._in_flight is not None:
            self._in_flight.enter()
        return time.perf_counter()

    def observe(self, context: grpc.aio.ServicerContext[Any, Any], started: float, code: str | None) -> None:
        """The RPC ended with ``code`` (None: the status the context holds)."""
        self._gauge.dec()
        if self._in_flight is not None:
            self._in_flight.leave()
        code = code or _code_name(context)
        metrics = self._by_code.get(code)
        if metrics is None:
            metrics = self._by_code[code] = (
                RPC_REQUESTS.labels(self._method, code),
                RPC_DURATION.labels(self._method, code),
            )
        metrics[0].inc()
        metrics[1].observe(time.perf_counter() - started)
