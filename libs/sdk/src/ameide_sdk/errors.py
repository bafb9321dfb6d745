"""Errors the SDK raises, and how it reads the server's error details.

The services put a ``google.rpc.Status`` with an ``ErrorInfo`` (its ``reason``, e.g. ``RESUME_TOKEN_EXPIRED``)
into the ``grpc-status-details-bin`` trailer; the SDK reads that reason to tell a retryable condition from one
the application must handle.
"""

from __future__ import annotations

import grpc
import grpc.aio
from google.rpc import error_details_pb2, status_pb2

_DETAILS_KEY = "grpc-status-details-bin"

# Stream errors a subscription survives by reconnecting from its last checkpoint: the server went away or is
# shutting down (UNAVAILABLE), or cut a slow subscriber (RESOURCE_EXHAUSTED).
RESUMABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})

# Unary errors a call with an idempotency key may safely repeat with the same key.
RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED})


class AmeideSdkError(Exception):
    """Base of the SDK's own errors."""


class ResumeExpired(AmeideSdkError):  # noqa: N818 - the name says what happened: the resume token expired
    """The stored checkpoint is older than the server keeps updates: reload the state, then subscribe afresh.

    Attributes:
        feed: The feed key (``thread:{id}`` or ``artifact:{id}``) whose checkpoint expired.
    """

    def __init__(self, feed: str) -> None:
        super().__init__(
            f"resume token for {feed} has expired: reload the state (GetChat/GetMessages or GetArtifact) "
            "and subscribe again with the checkpoint_token it returns"
        )
        self.feed = feed


def error_reason(error: grpc.aio.AioRpcError) -> str:
    """The ``ErrorInfo.reason`` the server attached to ``error``, or ``""`` when there is none."""
    metadata = error.trailing_metadata() or ()
    for key, value in metadata:
        if key != _DETAILS_KEY or not isinstance(value, bytes):
            continue
        status = status_pb2.Status()
        try:
            status.ParseFromString(value)
        except ValueError:
            return ""
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                return str(info.reason)
    return ""


def is_resume_expired(error: grpc.aio.AioRpcError) -> bool:
    """True when the server rejected a resume token as expired (FAILED_PRECONDITION RESUME_TOKEN_EXPIRED)."""
    if error.code() != grpc.StatusCode.FAILED_PRECONDITION:
        return False
    reason = error_reason(error)
    if reason:
        return reason == "RESUME_TOKEN_EXPIRED"
    # A server without status details still says so in its message.
    return "expired" in (error.details() or "").lower()


def is_transport_reset(error: grpc.aio.AioRpcError) -> bool:
    """True for a stream torn down underneath the call (an HTTP/2 reset), which is safe to resume."""
    return error.code() == grpc.StatusCode.INTERNAL and "rst_stream" in (error.details() or "").lower()
