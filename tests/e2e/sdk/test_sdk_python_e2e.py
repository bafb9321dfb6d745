"""The Python SDK against the real deployables: artifact-first sends, pagination and resumable subscriptions."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2, threads_types_pb2
from ameide_readmodel.feed.names import chat_feed
from ameide_runtime import resume
from ameide_runtime.tokens import TokenCodec
from ameide_sdk import (
    AmeideClient,
    InMemoryCheckpointStore,
    ReconnectPolicy,
    ResumeExpired,
    Subscription,
    error_reason,
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
        stale = resume.issue(codec, tenant_id=tenant_id, feed=chat_feed(sent.threads_id), seq=1, now=two_days_ago)

        with pytest.raises(ResumeExpired):
            await _texts(client.subscribe_chat(sent.threads_id, resume_token=stale), 1)


async def _next_data(updates: AsyncIterator[Any]) -> Any:
    """The next data update (skipping control messages)."""
    async with asyncio.timeout(BOUND):
        while (update := await anext(updates)).WhichOneof("update") == "control":
            pass
    return update


async def _first_data(subscription: Subscription[Any]) -> Any:
    """The first data update of a subscription (control messages are hidden by default)."""
    async with asyncio.timeout(BOUND):
        async for update in subscription:
            await subscription.aclose()
            return update
    return None


class TestWriteThenSubscribe:
    """A subscription given a write's answer (or its consistency token) starts once that write is visible."""

    async def test_send_then_follow_the_new_chat(self, client: AmeideClient) -> None:
        """send_message_from_artifact, then subscribe_chat(sent): never NOT_FOUND; the next message arrives."""
        artifact_id = await _artifact(client)
        for round_ in range(5):
            sent = await client.threads_artifact.send_message_from_artifact(artifact_id, f"first {round_}")
            subscription = client.subscribe_chat(sent, include_control=True)
            updates = aiter(subscription)
            assert (await anext(updates)).control.kind == threads_types_pb2.StreamControl.KIND_SUBSCRIBED
            # The stream is live from after the send: the send's own message is not replayed, the next one comes.
            await _send(client, sent.threads_id, f"second {round_}")
            assert (await _next_data(updates)).message.parts[0].text.text == f"second {round_}"
            await subscription.aclose()

    async def test_create_then_follow_the_new_artifact(self, client: AmeideClient) -> None:
        """subscribe_artifact(created) with CreateArtifact's answer: its first change arrives."""
        for round_ in range(5):
            created = await client.artifact_commands.CreateArtifact(
                artifacts_service_pb2.CreateArtifactRequest(title="Order Process", kind="bpmn")
            )
            subscription = client.subscribe_artifact(created, include_control=True)
            updates = aiter(subscription)
            assert (await anext(updates)).control.kind == threads_types_pb2.StreamControl.KIND_SUBSCRIBED
            change = artifacts_service_pb2.UpdateArtifactMetadataRequest(artifact_id=created.artifact_id)
            change.metadata.title = f"Order Process {round_}"
            await client.artifact_commands.UpdateArtifactMetadata(change)
            assert (await _next_data(updates)).metadata_changed.title == f"Order Process {round_}"
            await subscription.aclose()

    async def test_delete_then_subscribe_is_not_found(self, client: AmeideClient) -> None:
        """With DeleteChat's token the subscription ends with NOT_FOUND at once (never a stream of the old chat)."""
        artifact_id = await _artifact(client)
        sent = await client.threads_artifact.send_message_from_artifact(artifact_id, "soon gone")
        deleted = await client.threads_commands.DeleteChat(
            threads_service_pb2.DeleteChatRequest(threads_id=sent.threads_id)
        )

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _first_data(client.subscribe_chat(sent.threads_id, consistency_token=deleted.consistency_token))

        assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    async def test_waits_out_a_stopped_projector(self, client: AmeideClient, stack: Stack) -> None:
        """While the write is not projected the server answers NOT_YET_CONSISTENT; the SDK retries until it is."""
        artifact_id = await _artifact(client)
        await asyncio.to_thread(stack.stop, "projector")
        try:
            sent = await client.threads_artifact.send_message_from_artifact(artifact_id, "while away")
            subscription = client.subscribe_chat(sent, include_control=True)
            first = asyncio.create_task(_first_data(subscription))
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await client.threads_queries.GetChat(
                    threads_service_pb2.GetChatRequest(
                        threads_id=sent.threads_id, consistency_token=sent.consistency_token
                    )
                )
            assert error_reason(caught.value) == "NOT_YET_CONSISTENT"
        finally:
            await asyncio.to_thread(stack.start, "projector")
        greeting = await first
        assert greeting.control.kind == threads_types_pb2.StreamControl.KIND_SUBSCRIBED
        assert subscription.reconnects >= 1
