import asyncio
import uuid
from typing import Any

import grpc
import grpc.aio
import pytest
from redis.asyncio import Redis

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2, artifacts_service_pb2_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc, threads_types_pb2
from ameide_readmodel.feed import keys as feed_keys
from ameide_readmodel.feed.names import chat_feed
from ameide_runtime import resume
from ameide_runtime.tokens import TokenCodec
from tests.e2e.streams.streams_harness import Control, next_update, read_data, texts, until_control
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

TEAM = threads_types_pb2.CHAT_VISIBILITY_TEAM
PRIVATE = threads_types_pb2.CHAT_VISIBILITY_PRIVATE


class Client:
    """One user of one tenant talking to the running deployables."""

    def __init__(
        self, stack: Stack, commands: grpc.aio.Channel, queries: grpc.aio.Channel, user: str, tenant: str
    ) -> None:
        self.tenant = tenant
        self.metadata = stack.metadata(user, tenant)
        self.commands = threads_service_pb2_grpc.ChatCommandServiceStub(commands)
        self.queries = threads_service_pb2_grpc.ChatQueryServiceStub(queries)
        self.artifact_commands = artifacts_service_pb2_grpc.ArtifactCommandServiceStub(commands)
        self.artifact_queries = artifacts_service_pb2_grpc.ArtifactQueryServiceStub(queries)

    async def create(self, visibility: threads_types_pb2.ChatVisibility.ValueType) -> tuple[str, str]:
        """A new chat: its id and the consistency token of the write."""
        reply = await self.commands.CreateChat(
            threads_service_pb2.CreateChatRequest(title="live", visibility=visibility),
            metadata=self.metadata,
        )
        return reply.threads.id, reply.consistency_token

    async def send(self, chat_id: str, text: str) -> str:
        """Send a message; return the write's consistency token."""
        request = threads_service_pb2.SendMessageRequest(threads_id=chat_id)
        request.message.role = "user"
        request.message.parts.add().text.text = text
        return (await self.commands.SendMessage(request, metadata=self.metadata)).consistency_token

    def subscribe(self, chat_id: str, token: str = "") -> Any:
        """Open StreamChatUpdates."""
        request = threads_service_pb2.StreamChatRequest(threads_id=chat_id, resume_token=token)
        return self.queries.StreamChatUpdates(request, metadata=self.metadata)


@pytest.fixture(name="clients")
async def fixture_clients(stack: Stack) -> Any:
    """Factory of clients of one fresh tenant."""
    tenant = f"tenant-{uuid.uuid4()}"
    async with (
        grpc.aio.insecure_channel(stack.command_target) as commands,
        grpc.aio.insecure_channel(stack.query_target) as queries,
    ):
        yield lambda user: Client(stack, commands, queries, user, tenant)


async def _ready(client: Client, chat_id: str, consistency: str) -> None:
    """Wait until the query side shows the write (so the subscription starts after it)."""
    await client.queries.GetChat(
        threads_service_pb2.GetChatRequest(threads_id=chat_id, consistency_token=consistency), metadata=client.metadata
    )


class TestThroughTheDeployables:
    async def test_two_subscribers_see_a_third_clients_messages_in_order(self, clients: Any) -> None:
        """Messages sent through the command service reach two live subscribers identically and in order."""
        owner, member, writer = clients("owner"), clients("member"), clients("writer")
        chat_id, created = await owner.create(TEAM)
        await _ready(owner, chat_id, created)
        first, second = owner.subscribe(chat_id), member.subscribe(chat_id)
        for call in (first, second):
            await until_control(call, Control.KIND_CAUGHT_UP)
        sent = [f"hello {i}" for i in range(8)]
        for text in sent:
            await writer.send(chat_id, text)
        assert texts(await read_data(first, 8)) == sent
        assert texts(await read_data(second, 8)) == sent

    async def test_load_then_subscribe_with_the_checkpoint_misses_nothing(self, clients: Any) -> None:
        """GetMessages' checkpoint_token resumes exactly after the messages it returned."""
        owner = clients("owner")
        chat_id, _ = await owner.create(PRIVATE)
        token = ""
        for i in range(3):
            token = await owner.send(chat_id, f"m{i}")
        page = await owner.queries.GetMessages(
            threads_service_pb2.GetMessagesRequest(threads_id=chat_id, consistency_token=token),
            metadata=owner.metadata,
        )
        assert [m.parts[0].text.text for m in page.messages] == ["m0", "m1", "m2"]
        for i in range(3, 5):
            await owner.send(chat_id, f"m{i}")
        call = owner.subscribe(chat_id, page.checkpoint_token)
        assert texts(await read_data(call, 2)) == ["m3", "m4"]
        await owner.send(chat_id, "m5")
        assert texts(await read_data(call, 1)) == ["m5"]

    async def test_made_private_then_deleted(self, clients: Any) -> None:
        """A member's stream ends NOT_FOUND after the visibility change; the owner's ends after ChatDeleted."""
        owner, member = clients("owner"), clients("member")
        chat_id, created = await owner.create(TEAM)
        await _ready(owner, chat_id, created)
        owner_call, member_call = owner.subscribe(chat_id), member.subscribe(chat_id)
        for call in (owner_call, member_call):
            await until_control(call, Control.KIND_CAUGHT_UP)
        await owner.commands.UpdateVisibility(
            threads_service_pb2.UpdateChatVisibilityRequest(threads_id=chat_id, visibility=PRIVATE),
            metadata=owner.metadata,
        )
        [change] = await read_data(member_call, 1)
        assert change.WhichOneof("update") == "state_changed"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await next_update(member_call)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        await owner.commands.DeleteChat(
            threads_service_pb2.DeleteChatRequest(threads_id=chat_id), metadata=owner.metadata
        )
        kinds = [u.WhichOneof("update") for u in await read_data(owner_call, 2)]
        assert kinds == ["state_changed", "deleted"]
        assert await next_update(owner_call) is grpc.aio.EOF

    async def test_projector_killed_mid_writes_loses_and_duplicates_nothing(
        self, stack: Stack, clients: Any, redis_url: str
    ) -> None:
        """SIGKILL the projector during writes, restart it: every update arrives once, Redis ids stay unique."""
        owner = clients("owner")
        chat_id, created = await owner.create(PRIVATE)
        await _ready(owner, chat_id, created)
        call = owner.subscribe(chat_id)
        await until_control(call, Control.KIND_CAUGHT_UP)
        sends = [asyncio.create_task(owner.send(chat_id, f"m{i:02d}")) for i in range(20)]
        await asyncio.sleep(0)  # let the first sends start before the kill
        stack.kill("projector")
        await asyncio.gather(*sends)
        stack.start("projector")
        received = texts(await read_data(call, 20))
        assert sorted(received) == [f"m{i:02d}" for i in range(20)]
        codec = TokenCodec(stack.settings_env["AMEIDE_TOKEN_SECRET"].encode())
        feed = chat_feed(chat_id)
        from_start = owner.subscribe(chat_id, resume.issue(codec, tenant_id=owner.tenant, feed=feed, seq=0))
        assert texts(await read_data(from_start, 20)) == received
        async with Redis.from_url(redis_url) as redis:
            raw: Any = await redis.xrange(feed_keys.stream_key(feed))
        ids = [feed_keys.seq_of(entry_id) for entry_id, _ in raw]
        # One Redis entry per update, ids consecutive: nothing published twice, nothing skipped.
        assert ids == list(range(ids[0], ids[0] + len(ids)))
        assert ids[-1] == 20

    async def test_artifact_loaded_then_followed_until_deleted(self, clients: Any) -> None:
        """GetArtifact's checkpoint, then content changes through the command service, then ArtifactDeleted."""
        owner, colleague = clients("owner"), clients("colleague")
        created = await owner.artifact_commands.CreateArtifact(
            artifacts_service_pb2.CreateArtifactRequest(title="Flow", kind="bpmn"), metadata=owner.metadata
        )
        loaded = await colleague.artifact_queries.GetArtifact(
            artifacts_service_pb2.GetArtifactRequest(
                artifact_id=created.artifact_id, consistency_token=created.consistency_token
            ),
            metadata=colleague.metadata,
        )
        versions, updated = [], None
        for body in (b"<v2/>", b"<v3/>"):
            request = artifacts_service_pb2.UpdateArtifactContentRequest(artifact_id=created.artifact_id)
            request.content.mime_type = "application/xml"
            request.content.body = body
            updated = await owner.artifact_commands.UpdateArtifactContent(request, metadata=owner.metadata)
            versions.append(updated.version)
        assert updated is not None
        # Both changes projected before subscribing: they are then replayed one by one. Had they reached a live
        # subscriber's queue together, the newer full-state update would replace the older (decision D20).
        await colleague.artifact_queries.GetArtifact(
            artifacts_service_pb2.GetArtifactRequest(
                artifact_id=created.artifact_id, consistency_token=updated.consistency_token
            ),
            metadata=colleague.metadata,
        )
        call = colleague.artifact_queries.StreamArtifactUpdates(
            artifacts_service_pb2.StreamArtifactRequest(
                artifact_id=created.artifact_id, resume_token=loaded.checkpoint_token
            ),
            metadata=colleague.metadata,
        )
        changes = await read_data(call, 2)
        assert [(u.WhichOneof("update"), u.version, u.content_updated.body) for u in changes] == [
            ("content_updated", versions[0], b"<v2/>"),
            ("content_updated", versions[1], b"<v3/>"),
        ]
        await owner.artifact_commands.DeleteArtifact(
            artifacts_service_pb2.DeleteArtifactRequest(artifact_id=created.artifact_id), metadata=owner.metadata
        )
        [gone] = await read_data(call, 1)
        assert gone.WhichOneof("update") == "deleted"
        assert await next_update(call) is grpc.aio.EOF
