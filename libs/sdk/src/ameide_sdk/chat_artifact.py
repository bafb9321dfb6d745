"""ChatArtifactHelper: the spec's artifact-first send, made safe to retry.

One call of ``send_message_from_artifact`` uses one idempotency key for all of its attempts, so a retry after
a lost response returns the first attempt's result (same chat, same message) instead of writing twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import grpc
import grpc.aio
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from ameide_core_proto.threads.v1 import threads_service_pb2, threads_types_pb2
from ameide_sdk.errors import RETRYABLE_CODES
from ameide_sdk.validation import optional_uuid, require_text, require_uuid

if TYPE_CHECKING:
    from ameide_core_proto.threads.v1.threads_service_pb2_grpc import ChatCommandServiceAsyncStub


class HasChatCommands(Protocol):
    """Anything exposing the chat command stub (``AmeideClient`` does)."""

    @property
    def threads_commands(self) -> ChatCommandServiceAsyncStub:
        """The ChatCommandService stub."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries of idempotent writes: UNAVAILABLE and ABORTED, jittered exponential backoff, bounded."""

    max_attempts: int = 5
    initial_backoff: float = 0.1
    max_backoff: float = 2.0

    def retrying(self) -> AsyncRetrying:
        """A tenacity controller for one logical call."""
        return AsyncRetrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(self.max_attempts),
            wait=jittered_backoff(self.initial_backoff, self.max_backoff),
            reraise=True,
        )


def jittered_backoff(initial: float, maximum: float) -> wait_exponential_jitter:
    """``initial * 2**n`` plus up to ``initial`` of jitter, capped at ``maximum``."""
    try:
        return wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)
    except TypeError:  # tenacity before 9.2 names the base delay ``initial``
        return wait_exponential_jitter(initial=initial, max=maximum, jitter=initial)


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, grpc.aio.AioRpcError) and error.code() in RETRYABLE_CODES


@dataclass(frozen=True, slots=True)
class SendResult:
    """Outcome of ``send_message_from_artifact``; ``client.subscribe_chat(result)`` follows its chat.

    Example::

        sent = await client.threads_artifact.send_message_from_artifact(artifact_id, "What does this do?")
        async for update in client.subscribe_chat(sent):  # from the send on: nothing before it is replayed
            if update.HasField("message"):
                print(update.message.parts[0].text.text)
    """

    threads_id: str
    message_id: str
    is_new_chat: bool
    consistency_token: str = ""
    """Pass to a query (e.g. GetMessages) to read this write; ``client.subscribe_chat(result)`` passes it for you."""


class ChatArtifactHelper:
    """Artifact-first chat operations (spec section 5)."""

    def __init__(self, client: HasChatCommands, *, retry: RetryPolicy | None = None) -> None:
        self._client = client
        self._retry = retry or RetryPolicy()

    async def send_message_from_artifact(
        self,
        artifact_id: str,
        text: str,
        threads_id: str | None = None,
        *,
        idempotency_key: str | None = None,
        visibility: threads_types_pb2.ChatVisibility.ValueType = threads_types_pb2.CHAT_VISIBILITY_UNSPECIFIED,
        attempt_timeout: float | None = None,
    ) -> SendResult:
        """Send ``text`` about an artifact: into ``threads_id``, or into a new chat linked to the artifact.

        Args:
            artifact_id: The artifact being discussed (UUID).
            text: The message text (not blank).
            threads_id: An existing chat to send into; ``None`` creates one titled after the artifact.
            idempotency_key: Reuse a key from an earlier, unanswered call; a fresh UUID by default.
            visibility: Visibility of a newly created chat (UNSPECIFIED = PRIVATE).
            attempt_timeout: Deadline in seconds for each attempt (``None``: no deadline).

        Returns:
            The chat used, the stored message's id and whether the chat was created by this call.

        Raises:
            ValueError: An argument is invalid (nothing was sent).
            grpc.aio.AioRpcError: The server refused, or kept failing after the retries.
        """
        request = threads_service_pb2.EnsureChatForArtifactAndSendMessageRequest(
            artifact_id=require_uuid("artifact_id", artifact_id),
            threads_id=optional_uuid("threads_id", threads_id),
            message=threads_types_pb2.ChatMessageInput(
                role="user",
                parts=[threads_types_pb2.MessagePart(text=threads_types_pb2.TextPart(text=require_text("text", text)))],
            ),
            idempotency_key=optional_uuid("idempotency_key", idempotency_key) or str(uuid.uuid4()),
            visibility=visibility,
        )
        stub = self._client.threads_commands
        async for attempt in self._retry.retrying():
            with attempt:
                response = await stub.EnsureChatForArtifactAndSendMessage(request, timeout=attempt_timeout)
        return SendResult(
            threads_id=response.threads_id,
            message_id=response.persisted_message.id,
            is_new_chat=response.threads_created,
            consistency_token=response.consistency_token,
        )
