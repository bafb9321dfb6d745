"""Write, then subscribe: StreamChatUpdates / StreamArtifactUpdates with a consistency token, on the deployables.

The stream waits (bounded, as GetChat does) until the write the token names is projected, then authorises and
starts from there. With the projector running, every write-then-subscribe must start (or, for a deletion, answer
NOT_FOUND), however far behind the projector happens to be; with the projector stopped, the bound passes and the
stream answers what the reads answer (UNAVAILABLE, NOT_YET_CONSISTENT), never a state from before the write.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import grpc.aio
import pytest

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as arts
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc as arts_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc as chats_grpc
from tests.e2e.streams.streams_harness import Control, next_update, read_data, texts, until_control
from tests.support.grpc_status import Details, details_of
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

# Each write-then-subscribe is repeated: one lucky projector run must not be what makes a case pass.
ROUNDS = 5
# Retries of a read after the projector restarted (each waits up to the consistency bound): a guard, not a delay.
ATTEMPTS = 30


class Caller:
    """One user of one tenant on the command and query deployables."""

    def __init__(self, stack: Stack, commands: grpc.aio.Channel, queries: grpc.aio.Channel, tenant: str) -> None:
        self.tenant = tenant
        self.metadata = stack.metadata(str(uuid.uuid4()), tenant)
        self.chat_commands = chats_grpc.ChatCommandServiceStub(commands)
        self.chat_queries = chats_grpc.ChatQueryServiceStub(queries)
        self.artifact_commands = arts_grpc.ArtifactCommandServiceStub(commands)
        self.artifact_queries = arts_grpc.ArtifactQueryServiceStub(queries)

    async def artifact(self) -> arts.CreateArtifactResponse:
        """A new artifact (not waited for)."""
        request = arts.CreateArtifactRequest(title="Order Process", kind="bpmn")
        return await self.artifact_commands.CreateArtifact(request, metadata=self.metadata)

    async def ensure(
        self, artifact_id: str, text: str, threads_id: str = ""
    ) -> chats.EnsureChatForArtifactAndSendMessageResponse:
        """The artifact-first send; without ``threads_id`` it creates the chat."""
        request = chats.EnsureChatForArtifactAndSendMessageRequest(
            artifact_id=artifact_id, threads_id=threads_id, idempotency_key=str(uuid.uuid4())
        )
        request.message.role = "user"
        request.message.parts.add().text.text = text
        return await self.chat_commands.EnsureChatForArtifactAndSendMessage(request, metadata=self.metadata)

    async def send(self, chat_id: str, text: str) -> chats.SendMessageResponse:
        """A message into an existing chat."""
        request = chats.SendMessageRequest(threads_id=chat_id)
        request.message.role = "user"
        request.message.parts.add().text.text = text
        return await self.chat_commands.SendMessage(request, metadata=self.metadata)

    def chat_stream(self, chat_id: str, consistency_token: str) -> Any:
        """StreamChatUpdates from now, after the write ``consistency_token`` names."""
        request = chats.StreamChatRequest(threads_id=chat_id, consistency_token=consistency_token)
        return self.chat_queries.StreamChatUpdates(request, metadata=self.metadata)

    def artifact_stream(self, artifact_id: str, consistency_token: str) -> Any:
        """StreamArtifactUpdates from now, after the write ``consistency_token`` names."""
        request = arts.StreamArtifactRequest(artifact_id=artifact_id, consistency_token=consistency_token)
        return self.artifact_queries.StreamArtifactUpdates(request, metadata=self.metadata)

    async def get_chat(self, chat_id: str, consistency_token: str) -> chats.GetChatResponse:
        """GetChat with a consistency token (what the stream must behave like)."""
        request = chats.GetChatRequest(threads_id=chat_id, consistency_token=consistency_token)
        return await self.chat_queries.GetChat(request, metadata=self.metadata)


@pytest.fixture(name="channels")
async def fixture_channels(stack: Stack) -> AsyncIterator[tuple[grpc.aio.Channel, grpc.aio.Channel]]:
    """Channels to the command and query deployables."""
    async with (
        grpc.aio.insecure_channel(stack.command_target) as commands,
        grpc.aio.insecure_channel(stack.query_target) as queries,
    ):
        yield commands, queries


@pytest.fixture(name="caller")
def fixture_caller(stack: Stack, channels: tuple[grpc.aio.Channel, grpc.aio.Channel]) -> Caller:
    """A fresh user in a fresh tenant."""
    return Caller(stack, *channels, tenant=f"tenant-{uuid.uuid4()}")


@pytest.fixture(name="stranger")
def fixture_stranger(stack: Stack, channels: tuple[grpc.aio.Channel, grpc.aio.Channel]) -> Caller:
    """A user of another tenant."""
    return Caller(stack, *channels, tenant=f"tenant-{uuid.uuid4()}")


async def _failure(call: Any) -> Details:
    """The error a stream ends with before its first message."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await next_update(call)
    return details_of(caught.value)


async def _read_failure(read: Any) -> Details:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await read
    return details_of(caught.value)


class TestWriteThenSubscribe:
    """The caller's own write is visible to the stream that names it, whatever the projector's lag."""

    async def test_a_chat_created_by_the_artifact_first_send_is_followed_at_once(self, caller: Caller) -> None:
        """Ensure without threads_id, then subscribe with its token: SUBSCRIBED (never NOT_FOUND), then live."""
        artifact = await caller.artifact()
        for round_ in range(ROUNDS):
            sent = await caller.ensure(artifact.artifact_id, f"first {round_}")
            call = caller.chat_stream(sent.threads_id, sent.consistency_token)
            subscribed = await next_update(call)
            assert subscribed.control.kind == Control.KIND_SUBSCRIBED
            await until_control(call, Control.KIND_CAUGHT_UP)
            await caller.send(sent.threads_id, f"second {round_}")
            # From now, and now is after the write: the first message is not replayed, the next one is live.
            assert texts(await read_data(call, 1)) == [f"second {round_}"]
            call.cancel()

    async def test_a_new_artifact_is_followed_at_once(self, caller: Caller) -> None:
        """CreateArtifact, then StreamArtifactUpdates with its token: SUBSCRIBED, then its changes."""
        for _ in range(ROUNDS):
            created = await caller.artifact()
            call = caller.artifact_stream(created.artifact_id, created.consistency_token)
            await until_control(call, Control.KIND_CAUGHT_UP)
            change = arts.UpdateArtifactMetadataRequest(artifact_id=created.artifact_id)
            change.metadata.title = "Order Process v2"
            await caller.artifact_commands.UpdateArtifactMetadata(change, metadata=caller.metadata)
            [update] = await read_data(call, 1)
            assert (update.WhichOneof("update"), update.metadata_changed.title) == (
                "metadata_changed",
                "Order Process v2",
            )
            call.cancel()

    async def test_associate_then_follow_both_sides(self, caller: Caller) -> None:
        """AssociateArtifact's token starts both streams after the link; unlinking then reaches both."""
        for _ in range(ROUNDS):
            artifact = await caller.artifact()
            created = await caller.chat_commands.CreateChat(
                chats.CreateChatRequest(title="Review"), metadata=caller.metadata
            )
            linked = await caller.chat_commands.AssociateArtifact(
                chats.AssociateChatArtifactRequest(threads_id=created.threads.id, artifact_id=artifact.artifact_id),
                metadata=caller.metadata,
            )
            chat_call = caller.chat_stream(created.threads.id, linked.consistency_token)
            artifact_call = caller.artifact_stream(artifact.artifact_id, linked.consistency_token)
            for call in (chat_call, artifact_call):
                await until_control(call, Control.KIND_CAUGHT_UP)
            await caller.artifact_commands.DissociateChat(
                arts.DissociateArtifactChatRequest(artifact_id=artifact.artifact_id, threads_id=created.threads.id),
                metadata=caller.metadata,
            )
            # The link itself came before "now": the first update of each stream is the unlinking.
            [on_chat] = await read_data(chat_call, 1)
            [on_artifact] = await read_data(artifact_call, 1)
            assert on_chat.WhichOneof("update") == "relation_removed"
            assert on_artifact.WhichOneof("update") == "threads_removed"
            for call in (chat_call, artifact_call):
                call.cancel()

    async def test_a_deleted_chat_is_not_found_never_half_there(self, caller: Caller) -> None:
        """DeleteChat, then subscribe with its token: NOT_FOUND, exactly as GetChat answers with that token."""
        artifact = await caller.artifact()
        for round_ in range(ROUNDS):
            sent = await caller.ensure(artifact.artifact_id, f"doomed {round_}")
            deleted = await caller.chat_commands.DeleteChat(
                chats.DeleteChatRequest(threads_id=sent.threads_id), metadata=caller.metadata
            )
            failure = await _failure(caller.chat_stream(sent.threads_id, deleted.consistency_token))
            read = await _read_failure(caller.get_chat(sent.threads_id, deleted.consistency_token))
            assert (failure.code, read.code) == (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.NOT_FOUND)

    async def test_a_deleted_artifact_is_not_found(self, caller: Caller) -> None:
        """DeleteArtifact, then subscribe with its token: NOT_FOUND."""
        for _ in range(ROUNDS):
            created = await caller.artifact()
            deleted = await caller.artifact_commands.DeleteArtifact(
                arts.DeleteArtifactRequest(artifact_id=created.artifact_id), metadata=caller.metadata
            )
            failure = await _failure(caller.artifact_stream(created.artifact_id, deleted.consistency_token))
            assert failure.code == grpc.StatusCode.NOT_FOUND


class TestTokensAreCheckedAsTheReadsCheckThem:
    """Forged, foreign and wrong-kind tokens: the stream answers what GetChat answers with the same token."""

    async def test_forged_and_wrong_kind_tokens_are_invalid_argument(self, caller: Caller) -> None:
        """A tampered token, a resume token and a page token: INVALID_ARGUMENT naming consistency_token."""
        artifact = await caller.artifact()
        sent = await caller.ensure(artifact.artifact_id, "hello")
        loaded = await caller.get_chat(sent.threads_id, sent.consistency_token)
        body, _, mac = sent.consistency_token.partition(".")
        tampered = f"{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{mac}"
        for token in (tampered, loaded.checkpoint_token, "not-a-token"):
            failure = await _failure(caller.chat_stream(sent.threads_id, token))
            read = await _read_failure(caller.get_chat(sent.threads_id, token))
            assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
            assert (failure.code, failure.reason, failure.field_violations) == (
                read.code,
                read.reason,
                read.field_violations,
            )
            assert set(failure.field_violations) == {"consistency_token"}
            artifact_failure = await _failure(caller.artifact_stream(artifact.artifact_id, token))
            assert artifact_failure.field_violations == failure.field_violations

    async def test_another_tenants_token_grants_nothing(self, caller: Caller, stranger: Caller) -> None:
        """A token of another tenant's write opens only what the caller could open anyway, as GetChat does."""
        artifact = await caller.artifact()
        own = await caller.ensure(artifact.artifact_id, "mine")
        theirs_artifact = await stranger.artifact()
        theirs = await stranger.ensure(theirs_artifact.artifact_id, "theirs")
        await stranger.get_chat(theirs.threads_id, theirs.consistency_token)
        # Their token on their chat: not readable by the caller, NOT_FOUND as GetChat says.
        failure = await _failure(caller.chat_stream(theirs.threads_id, theirs.consistency_token))
        read = await _read_failure(caller.get_chat(theirs.threads_id, theirs.consistency_token))
        assert failure.code == grpc.StatusCode.NOT_FOUND
        assert (failure.code, failure.reason) == (read.code, read.reason)
        # Their token on the caller's own chat: only versions to wait for; the caller's access decides, as for
        # GetChat (which answers).
        await caller.get_chat(own.threads_id, own.consistency_token)
        assert (await caller.get_chat(own.threads_id, theirs.consistency_token)).threads.id == own.threads_id
        call = caller.chat_stream(own.threads_id, theirs.consistency_token)
        assert (await next_update(call)).control.kind == Control.KIND_SUBSCRIBED
        call.cancel()


@pytest.fixture(name="projector_stopped")
def fixture_projector_stopped(stack: Stack) -> Iterator[Stack]:
    """The projector is stopped for the test (nothing new is projected) and started again afterwards."""
    stack.stop("projector")
    try:
        yield stack
    finally:
        if not stack.running("projector"):
            stack.start("projector")


async def _until_consistent(read: Any) -> Any:
    """Repeat ``read()`` while it answers NOT_YET_CONSISTENT, as a client told to retry does."""
    for _ in range(ATTEMPTS):
        try:
            return await read()
        except grpc.aio.AioRpcError as error:
            if details_of(error).reason != "NOT_YET_CONSISTENT":
                raise
    pytest.fail(f"still NOT_YET_CONSISTENT after {ATTEMPTS} attempts")


class TestWhenTheProjectorIsBehind:
    """The bound passes: the stream answers as the reads do, and starts once the write is projected."""

    async def test_new_chat_unavailable_until_projected_then_subscribed(
        self, caller: Caller, projector_stopped: Stack
    ) -> None:
        """UNAVAILABLE NOT_YET_CONSISTENT with a retry hint (not NOT_FOUND); SUBSCRIBED once projected."""
        artifact = await caller.artifact()
        sent = await caller.ensure(artifact.artifact_id, "while the projector is away")

        failure = await _failure(caller.chat_stream(sent.threads_id, sent.consistency_token))
        read = await _read_failure(caller.get_chat(sent.threads_id, sent.consistency_token))

        assert (failure.code, failure.reason) == (grpc.StatusCode.UNAVAILABLE, "NOT_YET_CONSISTENT")
        assert (read.code, read.reason, read.retry_after_ms) == (failure.code, failure.reason, failure.retry_after_ms)
        assert failure.retry_after_ms
        await asyncio.to_thread(projector_stopped.start, "projector")

        async def subscribed() -> Any:
            call = caller.chat_stream(sent.threads_id, sent.consistency_token)
            first = await next_update(call)
            call.cancel()
            return first

        assert (await _until_consistent(subscribed)).control.kind == Control.KIND_SUBSCRIBED

    async def test_deleted_chat_never_streams_its_old_state(self, caller: Caller, projector_stopped: Stack) -> None:
        """The chat is still in the read model when the bound passes: UNAVAILABLE, then NOT_FOUND once projected."""
        artifact = await caller.artifact()
        await asyncio.to_thread(projector_stopped.start, "projector")
        sent = await caller.ensure(artifact.artifact_id, "soon gone")
        await caller.get_chat(sent.threads_id, sent.consistency_token)
        await asyncio.to_thread(projector_stopped.stop, "projector")
        deleted = await caller.chat_commands.DeleteChat(
            chats.DeleteChatRequest(threads_id=sent.threads_id), metadata=caller.metadata
        )

        failure = await _failure(caller.chat_stream(sent.threads_id, deleted.consistency_token))

        assert (failure.code, failure.reason) == (grpc.StatusCode.UNAVAILABLE, "NOT_YET_CONSISTENT")
        await asyncio.to_thread(projector_stopped.start, "projector")

        async def first_answer() -> Any:
            return await next_update(caller.chat_stream(sent.threads_id, deleted.consistency_token))

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _until_consistent(first_answer)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
