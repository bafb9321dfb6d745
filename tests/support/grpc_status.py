"""Read the ``google.rpc`` details of a failed call, for assertions on error mapping."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class Details:
    """The rich status of a failed call."""

    code: grpc.StatusCode
    message: str
    reason: str
    domain: str
    metadata: dict[str, str]
    field_violations: dict[str, str]
    retry_after_ms: int | None


def details_of(error: grpc.aio.AioRpcError) -> Details:
    """Decode the status details carried in the trailing metadata of ``error``."""
    status = rpc_status.from_call(error)
    info = error_details_pb2.ErrorInfo()
    violations: dict[str, str] = {}
    retry_after_ms: int | None = None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations = {v.field: v.description for v in bad_request.field_violations}
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            retry_after_ms = retry.retry_delay.ToMilliseconds()
    return Details(
        code=error.code(),
        message=error.details() or "",
        reason=info.reason,
        domain=info.domain,
        metadata=dict(info.metadata),
        field_violations=violations,
        retry_after_ms=retry_after_ms,
    )
