"""The Python SDK against the real deployables: artifact-first sends, pagination and resumable subscriptions."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2, threads_types_pb2
from ameide_runtime import resume
from ameide_runtime.tokens import TokenCodec
from ameide_sdk import (
    AmeideClient,
    InMemoryCheckpointStore,
    ReconnectPolicy,
    ResumeExpired,
    Subscription,
    page_through,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

# A safety net only: every wait below ends as soon as its condition holds.
BOUND = 60


@pytest.fixture(name="tenant_id")
def fixture_tenant_id() -> str:
    """A fresh tenant per test."""
    return str(uuid.uuid4())


@pytest.fixture(name="client")
async def fixture_client(stack: Stack, tenant_id: str) -> AsyncIterator[AmeideClient]:
    """A client of a fresh user in a fresh tenant, on the command and query deployables."""
    token = stack.token(str(uuid.uuid4()), tenant_id)
    reconnect = ReconnectPolicy(max_attempts=12, initial_backoff=0.1, max_backoff=2.0)
    async with AmeideClient(
        stack.command_target, query_target=stack.query_target, token=token, reconnect=reconnect
    ) as client:
        yield client


async def _artifact(client: AmeideClient, title: str = "Order Process") -> str:
    response = await client.artifact_commands.CreateArtifact(
        artifacts_service_pb2.CreateArtifactRequest(title=title, kind="bpmn")
    )
    return response.artifact_id


async def _send(client: AmeideClient, threads_id: str, text: str) -> threads_service_pb2.SendMessageResponse:
    message = threads_types_pb2.ChatMessageInput(
        role="user", parts=[threads_types_pb2.MessagePart(text=threads_types_pb2.TextPart(text=text))]
    )
    return await client.threads_commands.SendMessage(
        threads_service_pb2.SendMessageRequest(
            threads_id=threads_id, message=message, idempotency_key=str(uuid.uuid4())
        )
    )


async def _texts(subscription: Subscription[threads_service_pb2.ChatUpdate], count: int) -> list[str]:
    """The texts of the next ``count`` message updates."""
    texts: list[str] = []
    async with asyncio.timeout(BOUND):
        async for update in subscription:
            if update.HasField("message"):
                texts.append(update.message.parts[0].text.text)
                if len(texts) == count:
                    break
    return texts


class TestChatArtifactHelper:
    """send_message_from_artifact on the real command service."""

    async def test_new_chat_then_same_chat(self, client: AmeideClient) -> None:
        """Without threads_id a chat is created and linked; with it the message lands in that chat."""
        artifact_id = await _artifact(client)

        first = await client.threads_artifact.send_message_from_artifact(artifact_id, "What does this do?")
        second = await client.threads_artifact.send_message_from_artifact(artifact_id, "And then?", first.threads_id)

        assert first.is_new_chat
        assert not second.is_new_chat
        assert first.threads_id == second.threads_id
        assert first.message_id != second.message_id
        chat = await client.threads_queries.GetChat(
            threads_service_pb2.GetChatRequest(threads_id=first.threads_id, consistency_token=second.consistency_token)
        )
        assert chat.threads.title == "Discussion about Order Process"
        assert chat.threads.message_count == 2

    async def test_same_key_returns_the_first_result(self, client: AmeideClient) -> None:
        """Repeating a call with its idempotency key (what a retry does) writes nothing new."""
        artifact_id = await _artifact(client)
        key = str(uuid.uuid4())

        first = await client.threads_artifact.send_message_from_artifact(artifact_id, "Hi", idempotency_key=key)
        again = await client.threads_artifact.send_message_from_artifact(artifact_id, "Hi", idempotency_key=key)

        assert (first.threads_id, first.message_id, first.is_new_chat) == (
            again.threads_id,
            again.message_id,
            again.is_new_chat,
        )

    async def test_bad_argument_never_reaches_the_server(self, client: AmeideClient) -> None:
        """A malformed id is refused locally with a ValueError."""
        with pytest.raises(ValueError, match="artifact_id must be a UUID"):
            await client.threads_artifact.send_message_from_artifact("artifact-456", "Hi")


class TestPagination:
    """page_through over the real GetMessages."""

    async def test_walks_every_message_once(self, client: AmeideClient) -> None:
        """Seven messages in pages of three: 3 + 3 + 1, in order, none repeated."""
        artifact_id = await _artifact(client)
        sent = await client.threads_artifact.send_message_from_artifact(artifact_id, "m0")
        last = None
        for i in range(1, 7):
            last = await _send(client, sent.threads_id, f"m{i}")
        assert last is not None
        request = threads_service_pb2.GetMessagesRequest(
            threads_id=sent.threads_id, page_size=3, consistency_token=last.consistency_token
        )

        pages = [page async for page in page_through(client.threads_queries.GetMessages, request)]

        assert [3, 3, 1] == [len(page.messages) for page in pages]
        assert [f"m{i}" for i in range(7)] == [m.parts[0].text.text for page in pages for m in page.messages]


class TestSubscriptions:
    """subscribe_chat on the real query service: resume with no gap, no duplicate, across a restart."""

    async def test_disconnect_and_resume(self, client: AmeideClient) -> None:
        """Read some updates, stop, subscribe again with the same store: the rest arrive, none twice."""
        artifact_id = await _artifact(client)
        sent = await client.threads_artifact.send_message_from_artifact(artifact_id, "m0")
        loaded = await client.threads_queries.GetMessages(
            threads_service_pb2.GetMessagesRequest(threads_id=sent.threads_id, consistency_token=sent.consistency_token)
        )
        for i in range(1, 7):
            await _send(client, sent.threads_id, f"m{i}")
        store = InMemoryCheckpointStore()

        first = client.subscribe_chat(sent.threads_id, resume_token=loaded.checkpoint_token, checkpoint_store=store)
        head = await _texts(first, 3)
        await first.aclose()
        tail = await _texts(client.subscribe_chat(sent.threads_id, checkpoint_store=store), 3)

        assert ["m1", "m2", "m3"] == head
        assert ["m4", "m5", "m6"] == tail

    async def test_survives_a_query_service_restart(self, client: AmeideClient, stack: Stack) -> None:
        """The query process restarts mid-subscription: the SDK reconnects and resumes where it was."""
        artifact_id = await _artifact(client)
        sent = await client.threads_artifact.send_message_from_artifact(artifact_id, "m0")
        loaded = await client.threads_queries.GetMessages(
            threads_service_pb2.GetMessagesRequest(threads_id=sent.threads_id, consistency_token=sent.consistency_token)
        )
        for i in range(1, 4):
            await _send(client, sent.threads_id, f"m{i}")
        subscription = client.subscribe_chat(sent.threads_id, resume_token=loaded.checkpoint_token)
        head = await _texts(subscription, 3)

        await asyncio.to_thread(stack.restart, "query")
        for i in range(4, 7):
            await _send(client, sent.threads_id, f"m{i}")
        tail = await _texts(subscription, 3)
        await subscription.aclose()

        assert ["m1", "m2", "m3"] == head
        assert ["m4", "m5", "m6"] == tail
        assert subscription.reconnects >= 1

    async def test_expired_checkpoint_raises_resume_expired(
        self, client: AmeideClient, stack: Stack, tenant_id: str
    ) -> None:
        """A checkpoint older than the token TTL ends the subscription with ResumeExpired (reload, then subscribe)."""
        artifact_id = await _artifact(client)
        sent = await client.threads_artifact.send_message_from_artifact(artifact_id, "m0")
        # The stream authorises against the read model: wait until the chat is projected.
        await client.threads_queries.GetChat(
            threads_service_pb2.GetChatRequest(threads_id=sent.threads_id, consistency_token=sent.consistency_token)
        )
        codec = TokenCodec(stack.settings_env["AMEIDE_TOKEN_SECRET"].encode())
        two_days_ago = time.time() - 2 * 24 * 3600
        stale = resume.issue(
            codec, tenant_id=tenant_id, feed=resume.chat_feed(sent.threads_id), seq=1, now=two_days_ago
        )

        with pytest.raises(ResumeExpired):
            await _texts(client.subscribe_chat(sent.threads_id, resume_token=stale), 1)
