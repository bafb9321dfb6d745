"""A completed draft becomes one assistant message through the command side, with the caller's credentials.

The query service sends ``ChatCommandService.SendMessage`` to ``AMEIDE_COMMAND_TARGET`` exactly as the agent could
have: the caller's own bearer token (or development identity headers) and trace context are forwarded, the
command side checks them and the chat's write rule again, and the draft id is the idempotency key, so repeating the
same completion (after a timeout, a crash of either side, a second replica) stores one message and answers it.
A refusal comes back to the agent with the command side's own status and details.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

import grpc
import grpc.aio
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2

from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_core_proto.threads.v1 import threads_types_pb2 as chat_types
from ameide_query.live.limits import MessageLimits, text_parts
from ameide_runtime.errors import FieldViolation
from ameide_runtime.grpc_errors import ErrorDescription

if TYPE_CHECKING:
    from ameide_core_proto.threads.v1.threads_service_pb2_grpc import ChatCommandServiceAsyncStub

# Call metadata that travels on: who the caller is, and the trace the completion belongs to.
FORWARDED = frozenset({"authorization", "x-user-id", "x-tenant-id", "traceparent", "tracestate"})
_DETAILS = "grpc-status-details-bin"
# Outcomes that may have stored the message: the completion must be repeated with the same text, never reopened.
_UNKNOWN_OUTCOME = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED, grpc.StatusCode.UNKNOWN,
     grpc.StatusCode.INTERNAL, grpc.StatusCode.CANCELLED}
)  # fmt: skip
_RETRIED = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED})


class CommandRefused(Exception):  # noqa: N818 - it says what happened: the command side refused
    """SendMessage failed; the agent gets the command side's status (``error``)."""

    def __init__(self, error: grpc.aio.AioRpcError) -> None:
        super().__init__(error.details() or error.code().name)
        self.error = error

    @property
    def definite(self) -> bool:
        """True when the message was certainly not stored (the draft may take deltas again)."""
        return self.error.code() not in _UNKNOWN_OUTCOME


class MessageSender:
    """Sends a draft's text as an assistant message (retrying UNAVAILABLE / ABORTED with the same key)."""

    def __init__(
        self,
        commands: ChatCommandServiceAsyncStub,
        limits: MessageLimits,
        *,
        attempts: int = 4,
        timeout: float = 10.0,
        backoff: float = 0.1,
    ) -> None:
        self._commands = commands
        self._limits = limits
        self._attempts = attempts
        self._timeout = timeout
        self._backoff = backoff

    def request(
        self, *, threads_id: str, text: str, draft_id: str, artifact_id: str, tenant_id: str
    ) -> chats.SendMessageRequest:
        """The SendMessage request of a draft (the same bytes every time: the idempotency key is bound to them)."""
        parts = [
            chat_types.MessagePart(text=chat_types.TextPart(text=piece))
            for piece in text_parts(text, self._limits.max_text_part_bytes)
        ]
        message = chat_types.ChatMessageInput(role="assistant", parts=parts, artifact_id=artifact_id)
        return chats.SendMessageRequest(
            threads_id=threads_id, message=message, idempotency_key=draft_id, tenant_id=tenant_id
        )

    async def send(
        self, request: chats.SendMessageRequest, metadata: Sequence[tuple[str, str | bytes]]
    ) -> chats.SendMessageResponse:
        """The stored message; ``CommandRefused`` when the command side would not store it."""
        forwarded = tuple((key, value) for key, value in metadata if key.lower() in FORWARDED)
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._commands.SendMessage(request, metadata=forwarded, timeout=self._timeout)
            except grpc.aio.AioRpcError as error:
                if error.code() not in _RETRIED or attempt == self._attempts:
                    raise CommandRefused(error) from error
            await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable: the last attempt returns or raises")


def describe_refusal(refused: CommandRefused) -> ErrorDescription:
    """The command side's status for the agent: code, message, reason, field violations and retry hint."""
    error = refused.error
    reason, metadata, violations, retry_ms = error.code().name, {}, [], None
    status = _status_of(error)
    for detail in status.details if status is not None else ():
        info, bad, retry = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest(), error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Unpack(bad):
            violations = [FieldViolation(v.field, v.description) for v in bad.field_violations]
        elif detail.Unpack(retry):
            retry_ms = _millis(retry.retry_delay)
    return ErrorDescription(error.code(), error.details() or "", reason, metadata, tuple(violations), retry_ms)


def _status_of(error: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    for key, value in error.trailing_metadata() or ():
        if key == _DETAILS and isinstance(value, bytes):
            status = status_pb2.Status()
            try:
                status.ParseFromString(value)
            except ValueError:
                return None
            return status
    return None


def _millis(delay: duration_pb2.Duration) -> int:
    return int(delay.seconds * 1000 + delay.nanos // 1_000_000)
