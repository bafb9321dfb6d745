"""Chat references in live streams, through the real deployables: each subscriber hears only of chats it may read.

Two users of one tenant share an artifact; one's PRIVATE chat linked to it is never named to the other, neither
live, nor replayed from a resume token (from Redis, or from rm_feed once Redis lost the feed), nor by the unary
reads. A chat's later changes (visibility, title, deletion) reach the artifact's subscribers as each may see them.
A PUBLIC chat's reader from another tenant learns nothing of that tenant's artifacts.

Nothing here waits on time: "never delivered" is shown by order, since each feed is delivered in order, an update
withheld from a stream is proven absent once a later update arrives first.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import grpc.aio
import pytest
from redis.asyncio import Redis

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as arts
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_readmodel.feed import keys as feed_keys
from ameide_readmodel.feed.names import artifact_feed
from tests.e2e.streams.streams_harness import Control, next_update, read_data, until_control
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

PRIVATE, TEAM, PUBLIC = types.CHAT_VISIBILITY_PRIVATE, types.CHAT_VISIBILITY_TEAM, types.CHAT_VISIBILITY_PUBLIC


class User:
    """One user of one tenant, calling the running deployables."""

    def __init__(
        self, stack: Stack, commands: grpc.aio.Channel, queries: grpc.aio.Channel, name: str, tenant: str
    ) -> None:
        self.metadata = stack.metadata(name, tenant)
        self.created = ""
        self.chats = threads_service_pb2_grpc.ChatCommandServiceStub(commands)
        self.chat_reads = threads_service_pb2_grpc.ChatQueryServiceStub(queries)
        self.artifacts = artifacts_service_pb2_grpc.ArtifactCommandServiceStub(commands)
        self.artifact_reads = artifacts_service_pb2_grpc.ArtifactQueryServiceStub(queries)

    async def chat(self, title: str, visibility: int) -> str:
        """A new chat's id (``created`` holds the write's consistency token)."""
        request = chats.CreateChatRequest(title=title, visibility=visibility)  # type: ignore[arg-type]
        reply = await self.chats.CreateChat(request, metadata=self.metadata)
        self.created = reply.consistency_token
        return reply.threads.id

    async def artifact(self) -> str:
        """A new artifact's id."""
        request = arts.CreateArtifactRequest(title="Order process", kind="bpmn")
        return (await self.artifacts.CreateArtifact(request, metadata=self.metadata)).artifact_id

    async def link(self, artifact_id: str, chat_id: str) -> str:
        """Link from the artifact's side; the write's consistency token."""
        request = arts.AssociateArtifactChatRequest(artifact_id=artifact_id, threads_id=chat_id)
        return (await self.artifacts.AssociateChat(request, metadata=self.metadata)).consistency_token

    async def visibility(self, chat_id: str, visibility: int) -> None:
        """Change a chat's visibility."""
        request = chats.UpdateChatVisibilityRequest(threads_id=chat_id, visibility=visibility)  # type: ignore[arg-type]
        await self.chats.UpdateVisibility(request, metadata=self.metadata)

    async def rename(self, chat_id: str, title: str) -> None:
        """Rename a chat."""
        await self.chats.UpdateChatTitle(
            chats.UpdateChatTitleRequest(threads_id=chat_id, title=title), metadata=self.metadata
        )

    async def content(self, artifact_id: str, body: bytes) -> str:
        """Change the artifact's content; the write's consistency token."""
        request = arts.UpdateArtifactContentRequest(artifact_id=artifact_id)
        request.content.mime_type = "application/xml"
        request.content.body = body
        return (await self.artifacts.UpdateArtifactContent(request, metadata=self.metadata)).consistency_token

    async def send(self, chat_id: str, text: str) -> None:
        """Send a text message."""
        request = chats.SendMessageRequest(threads_id=chat_id)
        request.message.role = "user"
        request.message.parts.add().text.text = text
        await self.chats.SendMessage(request, metadata=self.metadata)

    async def checkpoint(self, artifact_id: str, consistency: str = "") -> str:
        """GetArtifact's checkpoint token, after the write named by ``consistency``."""
        request = arts.GetArtifactRequest(artifact_id=artifact_id, consistency_token=consistency)
        return (await self.artifact_reads.GetArtifact(request, metadata=self.metadata)).checkpoint_token

    def follow(self, artifact_id: str, token: str) -> Any:
        """StreamArtifactUpdates from ``token``."""
        request = arts.StreamArtifactRequest(artifact_id=artifact_id, resume_token=token)
        return self.artifact_reads.StreamArtifactUpdates(request, metadata=self.metadata)

    def follow_chat(self, chat_id: str, consistency: str) -> Any:
        """StreamChatUpdates from now (once the write named by ``consistency`` is visible)."""
        request = chats.StreamChatRequest(threads_id=chat_id, consistency_token=consistency)
        return self.chat_reads.StreamChatUpdates(request, metadata=self.metadata)


Users = Callable[[str, str], User]


@pytest.fixture(name="users")
async def fixture_users(stack: Stack) -> AsyncIterator[Users]:
    """Factory of users by (name, tenant); tenants are fresh per test (use ``tenant()``)."""
    async with (
        grpc.aio.insecure_channel(stack.command_target) as commands,
        grpc.aio.insecure_channel(stack.query_target) as queries,
    ):
        yield lambda name, tenant: User(stack, commands, queries, name, tenant)


def _tenant() -> str:
    return f"tenant-{uuid.uuid4()}"


def _named(update: arts.ArtifactUpdate) -> tuple[str, str, str]:
    """(case, chat id, title) of a chat reference update."""
    case = str(update.WhichOneof("update"))
    if case == "threads_added":
        return case, update.threads_added.threads_id, update.threads_added.threads_title
    if case == "threads_removed":
        return case, update.threads_removed.threads_id, ""
    return case, "", ""


async def _replayed(call: Any) -> tuple[list[arts.ArtifactUpdate], str]:
    """The data updates a stream replays, and the checkpoint of its CAUGHT_UP."""
    found: list[arts.ArtifactUpdate] = []
    while True:
        item = await next_update(call)
        assert item is not grpc.aio.EOF
        if item.WhichOneof("update") != "control":
            found.append(item)
        elif item.control.kind == Control.KIND_CAUGHT_UP:
            return found, item.checkpoint_token


class TestArtifactSubscribers:
    async def test_a_colleagues_private_chat_is_named_nowhere(self, users: Users, redis_url: str) -> None:
        """Live, replayed from Redis, replayed from rm_feed, and in GetArtifact / history: only the TEAM chat."""
        tenant = _tenant()
        alice, bob = users("alice", tenant), users("bob", tenant)
        artifact = await alice.artifact()
        private, team = await alice.chat("Alice only", PRIVATE), await alice.chat("Team chat", TEAM)
        start = await bob.checkpoint(artifact, await alice.content(artifact, b"<v2/>"))
        bob_live, alice_live = bob.follow(artifact, start), alice.follow(artifact, start)
        for call in (bob_live, alice_live):
            await until_control(call, Control.KIND_CAUGHT_UP)
        await alice.link(artifact, private)
        linked = await alice.link(artifact, team)
        # In order: had the private chat's link been sent to bob, it would come first.
        assert [_named(u) for u in await read_data(bob_live, 1)] == [("threads_added", team, "Team chat")]
        assert [_named(u)[:2] for u in await read_data(alice_live, 2)] == [
            ("threads_added", private),
            ("threads_added", team),
        ]
        replayed, caught_up = await _replayed(bob.follow(artifact, start))
        assert [_named(u) for u in replayed] == [("threads_added", team, "Team chat")]
        # Redis lost the feed (as after a flush): the replay comes from rm_feed, screened the same way.
        async with Redis.from_url(redis_url) as redis:
            assert await redis.delete(feed_keys.stream_key(artifact_feed(artifact))) == 1
        from_db, _ = await _replayed(bob.follow(artifact, start))
        assert [_named(u) for u in from_db] == [("threads_added", team, "Team chat")]
        # The checkpoint moved past the withheld link: resuming from it, the next update is the next change.
        resumed = bob.follow(artifact, caught_up)
        await until_control(resumed, Control.KIND_CAUGHT_UP)
        await alice.content(artifact, b"<v3/>")
        assert [u.WhichOneof("update") for u in await read_data(resumed, 1)] == ["content_updated"]
        loaded = await bob.artifact_reads.GetArtifact(
            arts.GetArtifactRequest(artifact_id=artifact, include_chats=True, consistency_token=linked),
            metadata=bob.metadata,
        )
        assert list(loaded.artifact.threads_ids) == [team]
        history = await bob.artifact_reads.GetArtifactHistory(
            arts.GetArtifactHistoryRequest(artifact_id=artifact), metadata=bob.metadata
        )
        assert private not in {entry.threads_id for entry in history.entries}

    async def test_a_chats_changes_reach_each_subscriber_as_it_may_see_them(self, users: Users) -> None:
        """Made TEAM: appears; renamed: new title; made PRIVATE: gone for the colleague only; deleted: gone."""
        tenant = _tenant()
        alice, bob = users("alice", tenant), users("bob", tenant)
        artifact = await alice.artifact()
        chat = await alice.chat("Draft", PRIVATE)
        start = await bob.checkpoint(artifact, await alice.link(artifact, chat))
        bob_live, alice_live = bob.follow(artifact, start), alice.follow(artifact, start)
        for call in (bob_live, alice_live):
            await until_control(call, Control.KIND_CAUGHT_UP)
        await alice.visibility(chat, TEAM)
        assert [_named(u) for u in await read_data(bob_live, 1)] == [("threads_added", chat, "Draft")]
        await alice.rename(chat, "Plan")
        assert [_named(u) for u in await read_data(bob_live, 1)] == [("threads_added", chat, "Plan")]
        await alice.visibility(chat, PRIVATE)
        assert [_named(u) for u in await read_data(bob_live, 1)] == [("threads_removed", chat, "")]
        await alice.rename(chat, "Secret")
        await alice.content(artifact, b"<v2/>")
        # The chat stays private meanwhile: its rename is not bob's to hear, the next thing he hears is the content.
        assert [u.WhichOneof("update") for u in await read_data(bob_live, 1)] == ["content_updated"]
        await alice.visibility(chat, TEAM)
        assert [_named(u) for u in await read_data(bob_live, 1)] == [("threads_added", chat, "Secret")]
        await alice.chats.DeleteChat(chats.DeleteChatRequest(threads_id=chat), metadata=alice.metadata)
        assert [_named(u) for u in await read_data(bob_live, 1)] == [("threads_removed", chat, "")]
        # The owner hears of every change (each read as the chat is when sent), the deletion last.
        own = [_named(u)[0] for u in await read_data(alice_live, 7) if _named(u)[1] == chat]
        assert len(own) == 6
        assert own[-1] == "threads_removed"
        # Replayed now that it is deleted, the chat is never added again: every reference removes it.
        replayed, _ = await _replayed(bob.follow(artifact, start))
        assert {_named(u)[0] for u in replayed if _named(u)[1] == chat} == {"threads_removed"}


class TestPublicChatReaders:
    async def test_another_tenants_reader_learns_nothing_of_the_chats_artifacts(self, users: Users) -> None:
        """A PUBLIC chat read by link from another tenant: its messages, never its tenant's artifacts."""
        home = _tenant()
        alice, carol = users("alice", home), users("carol", _tenant())
        chat, artifact = await alice.chat("Shared by link", PUBLIC), await alice.artifact()
        carol_live, alice_live = carol.follow_chat(chat, alice.created), alice.follow_chat(chat, alice.created)
        for call in (carol_live, alice_live):
            await until_control(call, Control.KIND_CAUGHT_UP)
        await alice.chats.AssociateArtifact(
            chats.AssociateChatArtifactRequest(threads_id=chat, artifact_id=artifact), metadata=alice.metadata
        )
        await alice.send(chat, "after the link")
        await alice.artifacts.DissociateChat(
            arts.DissociateArtifactChatRequest(artifact_id=artifact, threads_id=chat), metadata=alice.metadata
        )
        await alice.send(chat, "after the unlink")
        seen = [u.WhichOneof("update") for u in await read_data(carol_live, 2)]
        assert seen == ["message", "message"]
        own = [u.WhichOneof("update") for u in await read_data(alice_live, 4)]
        assert own == ["relation", "message", "relation_removed", "message"]
        await alice.chats.AssociateArtifact(
            chats.AssociateChatArtifactRequest(threads_id=chat, artifact_id=artifact), metadata=alice.metadata
        )
        listed = await carol.chat_reads.GetChatArtifacts(
            chats.GetChatArtifactsRequest(threads_id=chat), metadata=carol.metadata
        )
        assert (list(listed.artifacts), listed.total_count) == ([], 0)
        by_chat = await carol.artifact_reads.ListArtifacts(
            arts.ListArtifactsRequest(threads_id=chat), metadata=carol.metadata
        )
        assert list(by_chat.artifacts) == []
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await carol.artifact_reads.GetArtifact(
                arts.GetArtifactRequest(artifact_id=artifact), metadata=carol.metadata
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
