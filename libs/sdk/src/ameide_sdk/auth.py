"""Client interceptors that attach the caller's credentials to every call.

Production uses a JWT bearer token (``authorization: Bearer <token>``); ``ameide dev`` may run with
``AMEIDE_AUTH=insecure-headers``, where ``x-user-id`` / ``x-tenant-id`` headers name the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import grpc
import grpc.aio

Metadata = tuple[tuple[str, str], ...]


def auth_metadata(token: str | None, headers: Mapping[str, str] | None) -> Metadata:
    """The metadata pairs sent with every call: the bearer token first, then ``headers`` (keys lower-cased)."""
    pairs: list[tuple[str, str]] = []
    if token:
        pairs.append(("authorization", f"Bearer {token}"))
    for key, value in (headers or {}).items():
        pairs.append((key.lower(), value))
    return tuple(pairs)


def dev_headers(user_id: str, tenant_id: str) -> dict[str, str]:
    """Headers naming the caller for a server running with ``AMEIDE_AUTH=insecure-headers``."""
    return {"x-user-id": user_id, "x-tenant-id": tenant_id}


def _with_metadata(details: grpc.aio.ClientCallDetails, extra: Metadata) -> grpc.aio.ClientCallDetails:
    existing: Sequence[tuple[str, Any]] = tuple(details.metadata or ())
    present = {key for key, _ in existing}
    # A per-call value (e.g. another user's token in a test) wins over the client-wide default.
    merged = grpc.aio.Metadata(*existing, *(pair for pair in extra if pair[0] not in present))
    return grpc.aio.ClientCallDetails(
        method=details.method,
        timeout=details.timeout,
        metadata=merged,
        credentials=details.credentials,
        wait_for_ready=details.wait_for_ready,
    )


class _UnaryUnaryAuth(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, extra: Metadata) -> None:
        self._extra = extra

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,  # noqa: ANN401 - any request message passes through
    ) -> Any:  # noqa: ANN401 - the call object of the continuation
        return await continuation(_with_metadata(client_call_details, self._extra), request)


class _UnaryStreamAuth(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, extra: Metadata) -> None:
        self._extra = extra

    async def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,  # noqa: ANN401 - any request message passes through
    ) -> Any:  # noqa: ANN401 - the call object of the continuation
        return await continuation(_with_metadata(client_call_details, self._extra), request)


class _StreamUnaryAuth(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, extra: Metadata) -> None:
        self._extra = extra

    async def intercept_stream_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: Any,  # noqa: ANN401 - any request stream passes through
    ) -> Any:  # noqa: ANN401 - the call object of the continuation
        return await continuation(_with_metadata(client_call_details, self._extra), request_iterator)


def auth_interceptors(token: str | None, headers: Mapping[str, str] | None) -> list[grpc.aio.ClientInterceptor]:
    """Interceptors adding the credentials to every kind of call the services take (empty when there are none)."""
    extra = auth_metadata(token, headers)
    if not extra:
        return []
    return [_UnaryUnaryAuth(extra), _UnaryStreamAuth(extra), _StreamUnaryAuth(extra)]
