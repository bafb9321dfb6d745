"""Every query RPC's behaviour over real gRPC after writes through the command service."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art_svc
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat_svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from tests.e2e.query.query_e2e_client import PUBLIC, TEAM, World, failure

pytestmark = pytest.mark.e2e


def rich_message(artifact_id: str) -> types.ChatMessageInput:
    """A message using every part kind and an attachment."""
    return types.ChatMessageInput(
        role="assistant",
        parts=[
            types.MessagePart(text=types.TextPart(text="Here is the plan")),
            types.MessagePart(code=types.CodePart(language="sql", content="SELECT 1")),
            types.MessagePart(image=types.ImagePart(data=b"\x89PNG\x00\x01", mime_type="image/png")),
            types.MessagePart(structured=types.StructuredPart(type="tool-call", json='{"a": [1, 2]}')),
        ],
        attachments=[types.Attachment(id="att-1", name="a.txt", mime_type="text/plain", uri="s3://x", size_bytes=3)],
        artifact_id=artifact_id,
    )


class TestChats:
    async def test_messages_are_returned_exactly_as_persisted(self, world: World) -> None:
        """GetMessages returns the very ChatMessage SendMessage persisted (parts and attachments lossless)."""
        owner, _, _ = world.people()
        artifact, _ = await world.create_artifact(owner)
        chat, _ = await world.create_chat(owner)
        sent = await world.send(owner, chat, rich_message(artifact))
        reply = await world.chats.GetMessages(
            chat_svc.GetMessagesRequest(threads_id=chat, consistency_token=sent.consistency_token),
            metadata=owner.metadata,
        )
        assert list(reply.messages) == [sent.message]
        assert (reply.total_count, reply.has_more, reply.next_page_token) == (1, False, "")

    async def test_get_chat_reflects_renames_visibility_and_activity(self, world: World) -> None:
        """GetChat with a write's consistency token shows that write; counters and versions follow the events."""
        owner, peer, _ = world.people()
        chat, _ = await world.create_chat(owner, title="Before", agent_id="bpmn-assistant")
        await world.send(owner, chat, "one")
        await world.chat_commands.UpdateChatTitle(
            chat_svc.UpdateChatTitleRequest(threads_id=chat, title="After"), metadata=owner.metadata
        )
        changed = await world.chat_commands.UpdateVisibility(
            chat_svc.UpdateChatVisibilityRequest(threads_id=chat, visibility=TEAM), metadata=owner.metadata
        )
        reply = await world.chats.GetChat(
            chat_svc.GetChatRequest(threads_id=chat, consistency_token=changed.consistency_token),
            metadata=peer.metadata,
        )
        view = reply.threads
        assert (view.title, view.visibility, view.agent_id, view.user_id) == ("After", TEAM, "bpmn-assistant", "owner")
        assert (view.message_count, view.version) == (1, 4)
        assert view == changed.threads
        assert reply.checkpoint_token

    async def test_read_your_writes_every_time(self, world: World) -> None:
        """A message is visible to GetMessages called with its consistency token, every time."""
        owner, _, _ = world.people()
        chat, _ = await world.create_chat(owner)
        for n in range(10):
            sent = await world.send(owner, chat, f"m{n}")
            reply = await world.chats.GetMessages(
                chat_svc.GetMessagesRequest(
                    threads_id=chat, newest_first=True, page_size=1, consistency_token=sent.consistency_token
                ),
                metadata=owner.metadata,
            )
            assert reply.messages[0].id == sent.message.id

    async def test_checkpoint_token_resumes_the_live_stream(self, world: World) -> None:
        """Loading with GetMessages and subscribing with its checkpoint token yields the next message, no gap."""
        owner, _, _ = world.people()
        chat, _ = await world.create_chat(owner)
        first = await world.send(owner, chat, "loaded")
        loaded = await world.chats.GetMessages(
            chat_svc.GetMessagesRequest(threads_id=chat, consistency_token=first.consistency_token),
            metadata=owner.metadata,
        )
        await world.send(owner, chat, "after load")
        stream = world.chats.StreamChatUpdates(
            chat_svc.StreamChatRequest(threads_id=chat, resume_token=loaded.checkpoint_token), metadata=owner.metadata
        )
        try:
            async with asyncio.timeout(30):
                async for update in stream:
                    if update.WhichOneof("update") == "message":
                        assert update.message.parts[0].text.text == "after load"
                        break
        finally:
            stream.cancel()

    async def test_search_ranks_title_then_message_with_snippets(self, world: World) -> None:
        """SearchChats ranks a title match above a message match and highlights the matching words."""
        owner, _, _ = world.people()
        word = f"quokka{uuid.uuid4().hex[:6]}"
        by_title, _ = await world.create_chat(owner, title=f"All about {word}")
        by_message, _ = await world.create_chat(owner, title="Holiday", visibility=PUBLIC)
        sent = await world.send(owner, by_message, f"we met a {word} on the island")
        await world.settle(owner, [sent.consistency_token])
        reply = await world.chats.SearchChats(chat_svc.SearchChatsRequest(query=word[:-2]), metadata=owner.metadata)
        assert [c.id for c in reply.threads] == [by_title, by_message]
        assert f"<b>{word}</b>" in reply.snippets[by_message]
        details = await failure(world.chats.SearchChats(chat_svc.SearchChatsRequest(), metadata=owner.metadata))
        assert details.code == grpc.StatusCode.INVALID_ARGUMENT


class TestArtifacts:
    async def test_versions_history_links_and_deletion(self, world: World) -> None:
        """Past versions stay readable, history lists every change, links show both ways, deletion hides it."""
        owner, peer, _ = world.people()
        artifact, _ = await world.create_artifact(owner, body=b"one")
        chat, _ = await world.create_chat(owner, visibility=TEAM, title="Design")
        await world.associate(owner, chat, artifact)
        await world.artifact_commands.UpdateArtifactContent(
            art_svc.UpdateArtifactContentRequest(
                artifact_id=artifact, content=art_types.ArtifactContent(mime_type="text/xml", body=b"two")
            ),
            metadata=peer.metadata,
        )
        renamed = await world.artifact_commands.UpdateArtifactMetadata(
            art_svc.UpdateArtifactMetadataRequest(
                artifact_id=artifact,
                metadata=art_types.ArtifactMetadata(title="Renamed"),
                update_mask=field_mask_pb2.FieldMask(paths=["title"]),
            ),
            metadata=peer.metadata,
        )
        md = peer.metadata
        current = (
            await world.artifacts.GetArtifact(
                art_svc.GetArtifactRequest(
                    artifact_id=artifact, include_chats=True, consistency_token=renamed.consistency_token
                ),
                metadata=md,
            )
        ).artifact
        first = (
            await world.artifacts.GetArtifact(art_svc.GetArtifactRequest(artifact_id=artifact, version=1), metadata=md)
        ).artifact
        assert (current.version, current.title, current.content.body) == (renamed.version, "Renamed", b"two")
        assert renamed.version == 3  # created, content, metadata: the link is no version
        assert (first.version, first.title, first.content.body) == (1, "Order process", b"one")
        assert [r.threads_title for r in current.threads_refs] == ["Design"]
        history = await world.artifacts.GetArtifactHistory(
            art_svc.GetArtifactHistoryRequest(artifact_id=artifact), metadata=md
        )
        assert [e.event_type for e in history.entries] == ["created", "threads_linked", "modified", "metadata_changed"]
        assert history.entries[2].user_id == "peer"
        assert [e.version for e in history.entries] == [1, 1, 2, 3]
        chat_artifacts = await world.chats.GetChatArtifacts(
            chat_svc.GetChatArtifactsRequest(threads_id=chat), metadata=md
        )
        assert [(a.artifact_id, a.title) for a in chat_artifacts.artifacts] == [(artifact, "Renamed")]
        deleted = await world.artifact_commands.DeleteArtifact(
            art_svc.DeleteArtifactRequest(artifact_id=artifact), metadata=owner.metadata
        )
        await world.settle(owner, [deleted.consistency_token])
        after = await world.chats.GetChatArtifacts(chat_svc.GetChatArtifactsRequest(threads_id=chat), metadata=md)
        assert (list(after.artifacts), after.total_count) == ([], 0)
        gone = await failure(world.artifacts.GetArtifact(art_svc.GetArtifactRequest(artifact_id=artifact), metadata=md))
        assert gone.code == grpc.StatusCode.NOT_FOUND
        listed = await world.artifacts.ListArtifacts(art_svc.ListArtifactsRequest(), metadata=md)
        assert artifact not in {a.id for a in listed.artifacts}

    async def test_dissociation_removes_the_link_from_both_sides(self, world: World) -> None:
        """After DissociateChat neither GetChatArtifacts nor GetArtifactChats shows the link."""
        owner, _, _ = world.people()
        artifact, _ = await world.create_artifact(owner, kind="code")
        chat, _ = await world.create_chat(owner)
        await world.associate(owner, chat, artifact)
        done = await world.artifact_commands.DissociateChat(
            art_svc.DissociateArtifactChatRequest(artifact_id=artifact, threads_id=chat), metadata=owner.metadata
        )
        await world.settle(owner, [done.consistency_token])
        md = owner.metadata
        from_chat = await world.chats.GetChatArtifacts(chat_svc.GetChatArtifactsRequest(threads_id=chat), metadata=md)
        from_artifact = await world.artifacts.GetArtifactChats(
            art_svc.GetArtifactChatsRequest(artifact_id=artifact), metadata=md
        )
        by_kind = await world.artifacts.ListArtifacts(art_svc.ListArtifactsRequest(kind="code"), metadata=md)
        assert (list(from_chat.artifacts), list(from_artifact.threads)) == ([], [])
        assert [a.id for a in by_kind.artifacts] == [artifact]
