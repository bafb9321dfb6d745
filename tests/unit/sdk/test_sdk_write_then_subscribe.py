"""Write, then subscribe: the subscriptions send the write's consistency token on every (re)connect."""

from __future__ import annotations

import uuid

import grpc
import pytest

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2
from ameide_sdk import AmeideClient, SendResult
from tests.unit.sdk.fakes import FakeServer, token_seq

pytestmark = pytest.mark.unit

CHAT = str(uuid.uuid4())
ARTIFACT = str(uuid.uuid4())


def _sent(token: str = "ct-send") -> SendResult:  # noqa: S107 - a consistency token, not a secret
    return SendResult(threads_id=CHAT, message_id=str(uuid.uuid4()), is_new_chat=True, consistency_token=token)


async def _drain(subscription: object) -> int:
    count = 0
    async for _ in subscription:  # type: ignore[attr-defined]
        count += 1
    return count


class TestChat:
    """subscribe_chat with a write's answer, or with an id and a token."""

    async def test_send_result_names_the_chat_and_the_token(self, client: AmeideClient, server: FakeServer) -> None:
        """subscribe_chat(sent): the stream of sent.threads_id, waiting for sent.consistency_token."""
        assert await _drain(client.subscribe_chat(_sent())) == 10

        [request] = server.queries.script.requests
        assert (request.threads_id, request.consistency_token, request.resume_token) == (CHAT, "ct-send", "")

    async def test_the_token_goes_with_every_reconnect(self, client: AmeideClient, server: FakeServer) -> None:
        """A reconnect resumes from the checkpoint and still names the write (another replica may lag)."""
        server.queries.script.breaks = [(grpc.StatusCode.UNAVAILABLE, 0), (grpc.StatusCode.UNAVAILABLE, 4)]

        assert await _drain(client.subscribe_chat(_sent())) == 10

        requests = server.queries.script.requests
        assert [r.consistency_token for r in requests] == ["ct-send"] * 3
        assert [token_seq(r.resume_token) for r in requests] == [0, 0, 4]

    async def test_an_id_with_an_explicit_token(self, client: AmeideClient, server: FakeServer) -> None:
        """subscribe_chat(id, consistency_token=...) is the same request."""
        await _drain(client.subscribe_chat(CHAT, consistency_token="ct-explicit"))

        assert server.queries.script.requests[0].consistency_token == "ct-explicit"

    async def test_the_explicit_token_wins_over_the_writes(self, client: AmeideClient, server: FakeServer) -> None:
        """A later write's token (e.g. of a second send) can be given with the first answer."""
        await _drain(client.subscribe_chat(_sent(), consistency_token="ct-later"))

        assert server.queries.script.requests[0].consistency_token == "ct-later"

    async def test_a_raw_ensure_response_works_too(self, client: AmeideClient, server: FakeServer) -> None:
        """The generated EnsureChatForArtifactAndSendMessage response names the chat the same way."""
        response = threads_service_pb2.EnsureChatForArtifactAndSendMessageResponse(
            threads_id=CHAT, consistency_token="ct-raw"
        )

        await _drain(client.subscribe_chat(response))

        assert (server.queries.script.requests[0].threads_id, server.queries.script.requests[0].consistency_token) == (
            CHAT,
            "ct-raw",
        )

    async def test_without_a_token_nothing_is_waited_for(self, client: AmeideClient, server: FakeServer) -> None:
        """A plain id (e.g. after a load, with its checkpoint) sends no consistency token."""
        await _drain(client.subscribe_chat(CHAT))

        assert server.queries.script.requests[0].consistency_token == ""

    def test_something_else_is_a_value_error(self, client: AmeideClient, server: FakeServer) -> None:
        """An object naming no chat, or a malformed id inside a write, fails before calling."""
        with pytest.raises(ValueError, match="threads_id must be a UUID or a write's answer"):
            client.subscribe_chat(42)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="threads_id must be a UUID"):
            client.subscribe_chat(SendResult(threads_id="chat-1", message_id="m", is_new_chat=True))

        assert server.queries.script.requests == []


class TestArtifact:
    """subscribe_artifact with CreateArtifact's answer."""

    async def test_create_response_names_the_artifact_and_the_token(
        self, client: AmeideClient, server: FakeServer
    ) -> None:
        """subscribe_artifact(created): every connection waits for the creation."""
        created = artifacts_service_pb2.CreateArtifactResponse(artifact_id=ARTIFACT, consistency_token="ct-create")

        assert await _drain(client.subscribe_artifact(created)) == 4

        assert [(r.artifact_id, r.consistency_token) for r in server.artifacts.requests] == [
            (ARTIFACT, "ct-create"),
            (ARTIFACT, "ct-create"),
        ]

    async def test_an_id_with_an_explicit_token(self, client: AmeideClient, server: FakeServer) -> None:
        """subscribe_artifact(id, consistency_token=...)."""
        await _drain(client.subscribe_artifact(ARTIFACT, consistency_token="ct-delete"))

        assert {r.consistency_token for r in server.artifacts.requests} == {"ct-delete"}
