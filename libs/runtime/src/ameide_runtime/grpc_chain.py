"""What every RPC of a server goes through, in one wrapper per method made when the method is registered.

In order, outermost first: tracing (trace ids under a non-recording span; OpenTelemetry's own interceptor stays in
front when spans are recorded), metrics (in flight, then counted and timed by status code), authentication (the
caller bound to ``ameide_runtime.identity``; a failure answers UNAUTHENTICATED) and error mapping (``grpc_errors``,
the service's own error table first; innermost, so the metrics see the mapped status). Health and reflection get
only the metrics and error steps.

These were four grpc.aio interceptors. An interceptor runs per call: grpc.aio awaits each one's
``intercept_service``, which builds a new method handler around the next, and the call then passes four
coroutine (or async generator) layers. Measured on the command service that chain cost more CPU per SendMessage
than the handler's own decision; wrapping each method's handler once, at registration, leaves one coroutine
layer per call and nothing per call to build. ``ChainedServer`` does that for whatever registers on it (the
generated ``add_*_to_server`` functions, health, reflection).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, TypeAlias

import grpc
import grpc.aio

from ameide_runtime import identity
from ameide_runtime.auth import Authenticate, is_public
from ameide_runtime.errors import Unauthenticated
from ameide_runtime.grpc_errors import ErrorTable, abort_with, checked_request, tolerant_deserializer
from ameide_runtime.grpc_tracing import TraceIds
from ameide_runtime.grpc_wrap import StreamBehavior, UnaryBehavior, encoded_replies, wrap_handler
from ameide_runtime.metrics import InFlight, MethodMetrics

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Metadata: TypeAlias = "grpc.aio.Metadata | None"
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


class Chain:
    """Wraps method handlers with the per-call steps.

    Args:
        authenticate: Who is calling, from the call's metadata (None: no authentication, e.g. a health-only server).
        in_flight: Where application RPCs are counted while they run (for a graceful drain).
        trace_ids: The trace-ids step (None: OpenTelemetry's interceptor traces the calls, or nothing does).
        errors: Each service's own error table, by full service name (``ServiceBinding.errors``).
    """

    def __init__(
        self,
        *,
        authenticate: Authenticate | None,
        in_flight: InFlight | None,
        trace_ids: TraceIds | None,
        errors: Mapping[str, ErrorTable] | None = None,
    ) -> None:
        self._authenticate = authenticate
        self._in_flight = in_flight
        self._trace_ids = trace_ids
        self._errors = dict(errors or {})

    def wrap(self, method: str, handler: Handler | None) -> Handler | None:
        """``handler`` of ``method`` (``/package.Service/Method``) with the steps; None stays None (unknown)."""
        public = is_public(method)
        steps = _Steps(
            method,
            MethodMetrics(method, None if public else self._in_flight),
            None if public else self._authenticate,
            None if public else self._trace_ids,
            self._errors.get(_service_of(method)),
        )
        return wrap_handler(
            handler, steps, request_deserializer=tolerant_deserializer, response_serializer=encoded_replies
        )


def _service_of(method: str) -> str:
    """``package.Service`` of ``/package.Service/Method``."""
    return method.rpartition("/")[0].lstrip("/")


def _admitted(authenticate: Authenticate, metadata: Metadata) -> Unauthenticated | None:
    """Bind the caller named in ``metadata`` to ``ameide_runtime.identity``; the refusal, if it is refused.

    A plain call, not a coroutine: only a refusal has anything to await (the abort). Called in the RPC's own task,
    so the binding lands in its context (a copy per RPC) and ends with the RPC.
    """
    try:
        caller = authenticate(tuple(metadata or ()))
    except Unauthenticated as exc:
        return exc
    identity.set_current(caller)
    return None


class _Steps:
    __slots__ = ("_authenticate", "_errors", "_method", "_metrics", "_reads_metadata", "_trace_ids")

    def __init__(
        self,
        method: str,
        metrics: MethodMetrics,
        authenticate: Authenticate | None,
        trace_ids: TraceIds | None,
        errors: ErrorTable | None,
    ) -> None:
        self._method = method
        self._metrics = metrics
        self._authenticate = authenticate
        self._trace_ids = trace_ids
        self._errors = errors
        self._reads_metadata = trace_ids is not None or authenticate is not None

    def unary(self, behavior: UnaryBehavior) -> UnaryBehavior:
        metrics, method, trace_ids, authenticate = self._metrics, self._method, self._trace_ids, self._authenticate
        table, reads_metadata = self._errors, self._reads_metadata

        async def wrapped(request: object, context: Context) -> object:
            # grpc.aio decodes the metadata anew at each invocation_metadata(): read once for both steps.
            metadata = context.invocation_metadata() if reads_metadata else None
            if trace_ids is not None:
                trace_ids.enter(metadata)
            started, code = metrics.enter(), None
            try:
                if authenticate is not None and (refused := _admitted(authenticate, metadata)) is not None:
                    await abort_with(context, refused)
                try:
                    return await behavior(checked_request(request), context)
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:  # noqa: BLE001 - this is the one place that maps every error
                    await abort_with(context, exc, method=method, table=table)
            except grpc.aio.AbortError:
                raise
            except BaseException:
                code = "CANCELLED"
                raise
            finally:
                metrics.observe(context, started, code)

        return wrapped

    def stream(self, behavior: StreamBehavior) -> StreamBehavior:
        metrics, method, trace_ids, authenticate = self._metrics, self._method, self._trace_ids, self._authenticate
        table, reads_metadata = self._errors, self._reads_metadata

        async def wrapped(request: object, context: Context) -> AsyncIterator[object]:
            # grpc.aio decodes the metadata anew at each invocation_metadata(): read once for both steps.
            metadata = context.invocation_metadata() if reads_metadata else None
            if trace_ids is not None:
                trace_ids.enter(metadata)
            started, code = metrics.enter(), None
            try:
                if authenticate is not None and (refused := _admitted(authenticate, metadata)) is not None:
                    await abort_with(context, refused)
                try:
                    async for response in behavior(checked_request(request), context):
                        yield response
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:  # noqa: BLE001 - this is the one place that maps every error
                    await abort_with(context, exc, method=method, table=table)
            except grpc.aio.AbortError:
                raise
            except BaseException:
                code = "CANCELLED"
                raise
            finally:
                metrics.observe(context, started, code)

        return wrapped


class _ChainedGenericHandler(grpc.GenericRpcHandler):
    """A generic handler whose method handlers come wrapped (each wrapped once, then reused)."""

    def __init__(self, inner: grpc.GenericRpcHandler, chain: Chain) -> None:
        self._inner = inner
        self._chain = chain
        self._wrapped: dict[str, tuple[Handler, Handler | None]] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        handler = self._inner.service(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = self._chain.wrap(method, handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped


class ChainedServer(grpc.aio.Server):
    """A grpc.aio server whose registered handlers all get ``chain``'s steps; everything else is the server's."""

    def __init__(self, server: grpc.aio.Server, chain: Chain) -> None:
        self._server = server
        self._chain = chain

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        """Register generic handlers, their method handlers wrapped."""
        self._server.add_generic_rpc_handlers([_ChainedGenericHandler(h, self._chain) for h in generic_rpc_handlers])

    def add_registered_method_handlers(self, service_name: str, method_handlers: Mapping[str, Handler]) -> None:
        """Register a service's method handlers, each wrapped."""
        wrapped = {name: self._chain.wrap(f"/{service_name}/{name}", h) for name, h in method_handlers.items()}
        self._server.add_registered_method_handlers(
            service_name, {name: handler for name, handler in wrapped.items() if handler is not None}
        )

    def add_insecure_port(self, address: str) -> int:
        """See ``grpc.aio.Server.add_insecure_port``."""
        return self._server.add_insecure_port(address)

    def add_secure_port(self, address: str, server_credentials: grpc.ServerCredentials) -> int:
        """See ``grpc.aio.Server.add_secure_port``."""
        return self._server.add_secure_port(address, server_credentials)

    async def start(self) -> None:
        """See ``grpc.aio.Server.start``."""
        await self._server.start()

    async def stop(self, grace: float | None) -> None:
        """See ``grpc.aio.Server.stop``."""
        await self._server.stop(grace)

    async def wait_for_termination(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - grpc's signature
        """See ``grpc.aio.Server.wait_for_termination``."""
        return await self._server.wait_for_termination(timeout)
