from __future__ import annotations

import asyncio

import pytest

from ameide_command.domain import events
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art
from ameide_core_proto.threads.v1 import threads_events_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from tests.e2e.command.command_e2e_client import CommandClient, text

pytestmark = pytest.mark.e2e

NEW_CHAT = ["ChatCreatedEvent", "ArtifactAssociatedEvent", "MessageSentEvent"]


async def artifact(client: CommandClient, metadata: tuple[tuple[str, str], ...]) -> str:
    """A new BPMN artifact's id."""
    reply = await client.artifacts.CreateArtifact(
        art.CreateArtifactRequest(title="Order", kind="bpmn"), metadata=metadata
    )
    return reply.artifact_id


class TestRaces:
    async def test_fifty_concurrent_ensures_with_one_key(self, client: CommandClient) -> None:
        """50 concurrent retries of one Ensure: one chat, one message, 50 identical responses."""
        owner, _, _ = client.tenant()
        artifact_id = await artifact(client, owner.metadata)
        request = svc.EnsureChatForArtifactAndSendMessageRequest(
            artifact_id=artifact_id, message=text(), idempotency_key="one"
        )
        replies = await asyncio.gather(
            *(client.chats.EnsureChatForArtifactAndSendMessage(request, metadata=owner.metadata) for _ in range(50))
        )
        assert len({reply.SerializeToString(deterministic=True) for reply in replies}) == 1
        assert await client.history(replies[0].threads_id) == NEW_CHAT
        assert await client.history(artifact_id) == ["ArtifactCreatedEvent", "ArtifactChatLinkedEvent"]

    async def test_twenty_concurrent_ensures_with_distinct_keys(self, client: CommandClient) -> None:
        """20 concurrent first messages about one artifact: 20 chats, each with exactly one message."""
        owner, _, _ = client.tenant()
        artifact_id = await artifact(client, owner.metadata)
        replies = await asyncio.gather(
            *(
                client.chats.EnsureChatForArtifactAndSendMessage(
                    svc.EnsureChatForArtifactAndSendMessageRequest(
                        artifact_id=artifact_id, message=text(f"m{i}"), idempotency_key=f"key-{i}"
                    ),
                    metadata=owner.metadata,
                )
                for i in range(20)
            )
        )
        chat_ids = {reply.threads_id for reply in replies}
        assert len(chat_ids) == 20
        assert all(reply.threads_created and reply.persisted_message.sequence == 1 for reply in replies)
        for chat_id in chat_ids:
            assert await client.history(chat_id) == NEW_CHAT
        history = await client.history(artifact_id)
        assert history == ["ArtifactCreatedEvent", *["ArtifactChatLinkedEvent"] * 20]

    async def test_two_users_send_to_a_team_chat_concurrently(self, client: CommandClient) -> None:
        """Two users, ten messages each, at once: all stored, numbered 1..20 in stream order, as answered."""
        owner, peer, _ = client.tenant()
        chat = await client.chats.CreateChat(
            svc.CreateChatRequest(title="Team", visibility=types.CHAT_VISIBILITY_TEAM), metadata=owner.metadata
        )
        chat_id = chat.threads.id
        replies = await asyncio.gather(
            *(
                client.chats.SendMessage(
                    svc.SendMessageRequest(threads_id=chat_id, message=text(f"{who.user_id}-{i}")),
                    metadata=who.metadata,
                )
                for i in range(10)
                for who in (owner, peer)
            )
        )
        stored = []
        for recorded in await client.events(chat_id):
            payload = events.decode(recorded.event_type, recorded.payload)
            if isinstance(payload, threads_events_pb2.MessageSentEvent):
                stored.append(payload.message)
        assert [m.sequence for m in stored] == list(range(1, 21))
        assert {m.id: m.sequence for m in stored} == {r.message.id: r.message.sequence for r in replies}
        assert sorted(m.user_id for m in stored) == ["owner"] * 10 + ["peer"] * 10
        assert await client.history(chat_id) == ["ChatCreatedEvent", *["MessageSentEvent"] * 20]
