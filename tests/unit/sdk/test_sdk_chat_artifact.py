"""ChatArtifactHelper: validation before calling, one idempotency key across retries, credentials on every call."""

from __future__ import annotations

import uuid

import grpc
import grpc.aio
import pytest

from ameide_core_proto.threads.v1 import threads_service_pb2
from ameide_sdk import AmeideClient, RetryPolicy, dev_headers
from tests.unit.sdk.fakes import FakeServer

pytestmark = pytest.mark.unit

ARTIFACT = str(uuid.uuid4())


class TestSendMessageFromArtifact:
    """send_message_from_artifact against a scripted server."""

    async def test_new_chat(self, client: AmeideClient, server: FakeServer) -> None:
        """Without threads_id the helper reports the created chat and the stored message."""
        result = await client.threads_artifact.send_message_from_artifact(ARTIFACT, "Hello")

        [call] = server.commands.calls
        assert call.artifact_id == ARTIFACT
        assert call.threads_id == ""
        assert call.message.role == "user"
        assert call.message.parts[0].text.text == "Hello"
        assert result.is_new_chat
        assert call.idempotency_key == str(uuid.UUID(call.idempotency_key))
        assert server.commands.responses[call.idempotency_key].persisted_message.id == result.message_id

    async def test_existing_chat(self, client: AmeideClient, server: FakeServer) -> None:
        """With threads_id the message goes into that chat and is_new_chat is false."""
        threads_id = str(uuid.uuid4())

        result = await client.threads_artifact.send_message_from_artifact(ARTIFACT, "Again", threads_id)

        assert threads_id == server.commands.calls[0].threads_id
        assert threads_id == result.threads_id
        assert not result.is_new_chat

    async def test_retries_reuse_one_key(self, client: AmeideClient, server: FakeServer) -> None:
        """UNAVAILABLE and ABORTED are retried with the very same idempotency key and request."""
        server.commands.failures = [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED]

        result = await client.threads_artifact.send_message_from_artifact(ARTIFACT, "Hello")

        keys = {call.idempotency_key for call in server.commands.calls}
        assert len(server.commands.calls) == 3
        assert len(keys) == 1
        assert len({call.SerializeToString(deterministic=True) for call in server.commands.calls}) == 1
        assert server.commands.responses[keys.pop()].persisted_message.id == result.message_id

    async def test_separate_calls_use_separate_keys(self, client: AmeideClient, server: FakeServer) -> None:
        """Two logical sends are two messages: each gets its own key."""
        await client.threads_artifact.send_message_from_artifact(ARTIFACT, "one")
        await client.threads_artifact.send_message_from_artifact(ARTIFACT, "two")

        assert len({call.idempotency_key for call in server.commands.calls}) == 2

    async def test_given_key_is_used(self, client: AmeideClient, server: FakeServer) -> None:
        """A caller-supplied key (from an earlier unanswered call) is sent as is."""
        key = str(uuid.uuid4())

        await client.threads_artifact.send_message_from_artifact(ARTIFACT, "Hello", idempotency_key=key)

        assert key == server.commands.calls[0].idempotency_key

    async def test_gives_up_after_max_attempts(self, server: FakeServer) -> None:
        """A server that stays unavailable gets exactly max_attempts calls, then the error surfaces."""
        server.commands.failures = [grpc.StatusCode.UNAVAILABLE] * 10
        policy = RetryPolicy(max_attempts=3, initial_backoff=0.001, max_backoff=0.002)
        async with AmeideClient(server.target, retry=policy) as client:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await client.threads_artifact.send_message_from_artifact(ARTIFACT, "Hello")

        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert len(server.commands.calls) == 3

    @pytest.mark.parametrize(
        "code", [grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION]
    )
    async def test_client_errors_are_not_retried(
        self, client: AmeideClient, server: FakeServer, code: grpc.StatusCode
    ) -> None:
        """An answer about the request itself is final: one call, the status is raised."""
        server.commands.failures = [code]

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await client.threads_artifact.send_message_from_artifact(ARTIFACT, "Hello")

        assert code == caught.value.code()
        assert len(server.commands.calls) == 1

    async def test_credentials_on_every_attempt(self, client: AmeideClient, server: FakeServer) -> None:
        """The bearer token and the extra headers travel with every attempt."""
        server.commands.failures = [grpc.StatusCode.UNAVAILABLE]

        await client.threads_artifact.send_message_from_artifact(ARTIFACT, "Hello")

        assert len(server.commands.metadata) == 2
        for metadata in server.commands.metadata:
            assert metadata["authorization"] == "Bearer tok-1"
            assert metadata["x-tenant-id"] == "t1"


class TestValidation:
    """Arguments are checked before anything is sent."""

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("not-a-uuid", "hi"), "artifact_id must be a UUID"),
            (("", "hi"), "artifact_id must be a UUID"),
            ((ARTIFACT, ""), "text must not be empty"),
            ((ARTIFACT, "  \n"), "text must not be empty"),
            ((ARTIFACT, "hi", "chat-1"), "threads_id must be a UUID"),
            ((ARTIFACT, 42), "text must be a string"),
        ],
    )
    async def test_bad_arguments_fail_before_calling(
        self, client: AmeideClient, server: FakeServer, args: tuple[object, ...], message: str
    ) -> None:
        """A bad argument raises a ValueError naming it, and nothing is sent."""
        with pytest.raises(ValueError, match=message):
            await client.threads_artifact.send_message_from_artifact(*args)  # type: ignore[arg-type]

        assert server.commands.calls == []

    async def test_bad_idempotency_key(self, client: AmeideClient, server: FakeServer) -> None:
        """A supplied key must be a UUID too."""
        with pytest.raises(ValueError, match="idempotency_key must be a UUID"):
            await client.threads_artifact.send_message_from_artifact(ARTIFACT, "hi", idempotency_key="k")

        assert server.commands.calls == []


class TestClientLifecycle:
    """The client owns its channels."""

    async def test_async_with_closes_the_channels(self, server: FakeServer) -> None:
        """After the block, calls fail with 'Channel is closed' (nothing leaks)."""
        async with AmeideClient(server.target, query_target=server.target.replace("127.0.0.1", "localhost")) as client:
            await client.threads_artifact.send_message_from_artifact(ARTIFACT, "Hello")

        with pytest.raises(grpc.aio.UsageError, match="Channel is closed"):
            await client.threads_artifact.send_message_from_artifact(ARTIFACT, "Hello")
        with pytest.raises(grpc.aio.UsageError, match="Channel is closed"):
            await client.threads_queries.GetMessages(threads_service_pb2.GetMessagesRequest(threads_id=ARTIFACT))

    async def test_headers_only_for_dev_mode(self, server: FakeServer) -> None:
        """Without a token, dev_headers name the caller and no authorization header is sent."""
        async with AmeideClient(server.target, headers=dev_headers("u1", "t1")) as client:
            await client.threads_artifact.send_message_from_artifact(ARTIFACT, "Hello")

        [metadata] = server.commands.metadata
        assert "authorization" not in metadata
        assert (metadata["x-user-id"], metadata["x-tenant-id"]) == ("u1", "t1")
