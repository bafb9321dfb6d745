"""The lifecycle every deployable shares: a grpc.aio server with health, reflection and the per-call steps.

``serve`` runs the command and query services; ``run_worker`` runs a non-gRPC deployable (the projector) with
only a health endpoint beside it. Both stop gracefully on SIGTERM/SIGINT: health turns NOT_SERVING first (so
load balancers stop sending), shutdown callbacks run (e.g. live streams end with a resumable UNAVAILABLE), the
server keeps accepting while in-flight RPCs finish (a balancer may still route a few calls until it sees the
health change), then it stops; all of it within ``AMEIDE_SHUTDOWN_GRACE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ameide_runtime.auth import authenticator_for
from ameide_runtime.grpc_chain import Chain, ChainedServer
from ameide_runtime.grpc_errors import ErrorTable
from ameide_runtime.grpc_tracing import recording_interceptor, trace_ids
from ameide_runtime.metrics import InFlight, start_metrics_server
from ameide_runtime.settings import AuthSettings, ServerSettings

logger = logging.getLogger(__name__)

ShutdownCallback = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ServiceBinding:
    """One gRPC service a deployable serves: its full proto name, the generated ``add_*_to_server``, its servicer.

    ``errors`` maps the deployable's own errors to statuses (``ameide_runtime.grpc_errors``), before the shared rules.
    """

    full_name: str
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: object
    errors: ErrorTable | None = None


def host_port(host: str, port: int) -> str:
    """``host:port`` with IPv6 hosts bracketed."""
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def server_options(settings: ServerSettings, *, reuse_port: bool) -> list[tuple[str, int]]:
    """Channel options: message size limits, and SO_REUSEPORT only when asked for."""
    return [
        ("grpc.max_receive_message_length", settings.grpc_max_message_bytes),
        ("grpc.max_send_message_length", settings.grpc_max_message_bytes),
        # gRPC enables SO_REUSEPORT by default on Linux, which would let a second server silently share a port
        # that is already in use; only `--workers N` wants that.
        ("grpc.so_reuseport", 1 if reuse_port else 0),
    ]


def build_server(
    settings: ServerSettings,
    auth: AuthSettings | None,
    *,
    reuse_port: bool = False,
    in_flight: InFlight | None = None,
    errors: Mapping[str, ErrorTable] | None = None,
) -> grpc.aio.Server:
    """A grpc.aio server whose handlers get, in order: tracing, metrics, auth, errors (see ``grpc_chain``).

    Without ``auth`` no call is authenticated (a health-only server).
    """
    recording = recording_interceptor()
    server = grpc.aio.server(
        interceptors=[recording] if recording is not None else None,
        options=server_options(settings, reuse_port=reuse_port),
    )
    chain = Chain(
        authenticate=authenticator_for(auth) if auth is not None else None,
        in_flight=in_flight,
        trace_ids=trace_ids(),
        errors=errors,
    )
    return ChainedServer(server, chain)


async def add_health_and_reflection(server: grpc.aio.Server, service_names: Sequence[str]) -> health.aio.HealthServicer:
    """Register health (SERVING for "" and each service) and reflection (each service + health)."""
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", *service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection([*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    return health_servicer


def bind(server: grpc.aio.Server, host: str, port: int) -> int:
    """Listen on ``host:port`` (0 = an ephemeral port); return the bound port."""
    address = host_port(host, port)
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise OSError(f"cannot listen on {address}: the port is in use or the address is invalid") from exc
    if bound == 0:
        raise OSError(f"cannot listen on {address}: the port is in use or the address is invalid")
    return bound


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    # Signal handlers can only be installed from the main thread; in-process tests pass their own `stop`.
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _run_callbacks(callbacks: Sequence[ShutdownCallback], deadline: float) -> None:
    for callback in callbacks:
        try:
            async with asyncio.timeout_at(deadline):
                await callback()
        except Exception:
            logger.exception("shutdown callback %r failed", callback)


async def _drain(
    server: grpc.aio.Server, in_flight: InFlight, callbacks: Sequence[ShutdownCallback], grace: float
) -> None:
    """Callbacks, then wait for in-flight RPCs while still accepting, then stop: all within ``grace`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    await _run_callbacks(callbacks, deadline)
    if not await in_flight.wait_idle(deadline - loop.time()):
        logger.warning("%d RPCs still running after the grace period; cancelling them", len(in_flight))
    await server.stop(max(0.0, deadline - loop.time()))


@contextlib.contextmanager
def _metrics(port: int | None, host: str) -> Iterator[None]:
    stop_metrics = start_metrics_server(port, host) if port else None
    if port:
        logger.info("metrics on http://%s/metrics", host_port(host, port))
    try:
        yield
    finally:
        if stop_metrics is not None:
            stop_metrics()


async def serve(
    settings: ServerSettings,
    auth: AuthSettings,
    bindings: Sequence[ServiceBinding],
    *,
    port: int,
    metrics_port: int | None,
    on_shutdown: Sequence[ShutdownCallback] = (),
    ready: Callable[[int], None] | None = None,
    reuse_port: bool = False,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve ``bindings`` until SIGTERM/SIGINT (or ``stop`` is set), then shut down gracefully."""
    stop = stop or asyncio.Event()
    in_flight = InFlight()
    tables = {b.full_name: b.errors for b in bindings if b.errors is not None}
    server = build_server(settings, auth, reuse_port=reuse_port, in_flight=in_flight, errors=tables)
    for binding in bindings:
        binding.add_to_server(binding.servicer, server)
    health_servicer = await add_health_and_reflection(server, [b.full_name for b in bindings])
    bound = bind(server, settings.bind_host, port)
    with _metrics(metrics_port, settings.bind_host), _stop_on_signals(stop):
        await server.start()
        logger.info("listening on %s", host_port(settings.bind_host, bound))
        if ready is not None:
            ready(bound)
        await stop.wait()
        logger.info("shutting down: health NOT_SERVING, draining for %ss", settings.shutdown_grace_seconds)
        await health_servicer.enter_graceful_shutdown()
        await _drain(server, in_flight, on_shutdown, settings.shutdown_grace_seconds)
    logger.info("stopped")


async def run_worker(
    settings: ServerSettings,
    run: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
    *,
    service_name: str,
    health_port: int,
    metrics_port: int | None,
    ready: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
    reuse_port: bool = False,
) -> None:
    """Run ``run(stop)`` beside a health-only gRPC server; a crash of ``run`` turns health NOT_SERVING and raises."""
    stop = stop or asyncio.Event()
    server = build_server(settings, None, reuse_port=reuse_port)
    health_servicer = await add_health_and_reflection(server, [service_name])
    bound = bind(server, settings.bind_host, health_port)
    with _metrics(metrics_port, settings.bind_host), _stop_on_signals(stop):
        await server.start()
        logger.info("health listening on %s", host_port(settings.bind_host, bound))
        if ready is not None:
            ready(bound)
        task = asyncio.create_task(run(stop), name=service_name)
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            await health_servicer.enter_graceful_shutdown()
            if not task.done():
                logger.info("shutting down: waiting for %s to finish its batch", service_name)
                await asyncio.wait({task}, timeout=settings.shutdown_grace_seconds)
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        finally:
            stopper.cancel()
            await server.stop(settings.shutdown_grace_seconds)
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
    logger.info("stopped")
