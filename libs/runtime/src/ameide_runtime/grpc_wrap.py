"""Wrap the behaviour of a ``grpc.RpcMethodHandler`` (single-response and streaming alike).

gRPC method handlers come in four kinds. The server's per-call steps (``grpc_chain``) only care whether the
response is one message (``unary``) or a stream (``stream``), so ``wrap_handler`` normalises the four kinds to
those two shapes. Streaming behaviours are always turned into async generators, whether the servicer yields
or uses ``context.write`` (OpenTelemetry's aio interceptor iterates them with ``async for``).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import grpc
import grpc.aio

UnaryBehavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]
StreamBehavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Any]]
Deserializer = Callable[[bytes], Any]
Serializer = Callable[[Any], bytes]


class BehaviorWrapper(Protocol):
    """What a wrapper does around a single-response and around a streaming-response behaviour."""

    def unary(self, behavior: UnaryBehavior) -> UnaryBehavior:
        """Wrap a behaviour returning one response."""

    def stream(self, behavior: StreamBehavior) -> StreamBehavior:
        """Wrap a behaviour producing a stream of responses."""


def as_async_generator(behavior: Callable[..., Any]) -> StreamBehavior:
    """A streaming behaviour as an async generator, whatever style (yield, sync iterator, writer API) it uses."""
    if inspect.isasyncgenfunction(behavior):
        return behavior  # already one: no extra layer per message

    async def generator(request: object, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[object]:
        result = behavior(request, context)
        if inspect.isasyncgen(result):
            async for item in result:
                yield item
        elif inspect.isawaitable(result):
            # Writer-API handler: it writes with context.write() and returns None.
            await result
        elif result is not None:
            for item in result:
                yield item

    return generator


def as_coroutine(behavior: Callable[..., Any]) -> UnaryBehavior:
    """A single-response behaviour as a coroutine function, whether it is async or plain."""
    if inspect.iscoroutinefunction(behavior):
        return behavior  # already one: no extra layer per call

    async def coroutine(request: object, context: grpc.aio.ServicerContext[Any, Any]) -> object:
        result = behavior(request, context)
        if inspect.isawaitable(result):
            return await result
        return result

    return coroutine


def encoded_replies(serializer: Serializer | None) -> Serializer | None:
    """A response serializer that also sends a reply its handler returned already encoded (``bytes``) as it is.

    A reply assembled from stored encoded messages (GetMessages' page: the messages are kept serialized) then costs
    no decoding into message objects and no encoding back.
    """
    if serializer is None:
        return None

    def serialize(response: Any) -> bytes:  # noqa: ANN401 - any response message
        return response if isinstance(response, bytes) else serializer(response)

    return serialize


def wrap_handler(
    handler: grpc.RpcMethodHandler[Any, Any] | None,
    wrapper: BehaviorWrapper,
    *,
    request_deserializer: Callable[[Deserializer | None], Deserializer | None] | None = None,
    response_serializer: Callable[[Serializer | None], Serializer | None] | None = None,
) -> grpc.RpcMethodHandler[Any, Any] | None:
    """A new handler whose behaviour is wrapped by ``wrapper`` (``None`` stays ``None``: unknown method)."""
    if handler is None:
        return None
    deserializer = handler.request_deserializer
    if request_deserializer is not None:
        deserializer = request_deserializer(deserializer)
    serializer = handler.response_serializer
    if response_serializer is not None:
        serializer = response_serializer(serializer)
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            wrapper.unary(as_coroutine(handler.unary_unary)),
            request_deserializer=deserializer,
            response_serializer=serializer,
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            wrapper.stream(as_async_generator(handler.unary_stream)),
            request_deserializer=deserializer,
            response_serializer=serializer,
        )
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            wrapper.unary(as_coroutine(handler.stream_unary)),
            request_deserializer=deserializer,
            response_serializer=serializer,
        )
    if handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(
            wrapper.stream(as_async_generator(handler.stream_stream)),
            request_deserializer=deserializer,
            response_serializer=serializer,
        )
    return handler
