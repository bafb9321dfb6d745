from __future__ import annotations

import uuid

import pytest

from ameide_command.domain.commands import (
    CreateArtifact,
    DeleteArtifact,
    LinkChatArtifact,
    StartChat,
    UnlinkChatArtifact,
    UpdateArtifactContent,
    UpdateArtifactMetadata,
)
from ameide_command.domain.errors import NotFoundError, PermissionDeniedError, VersionConflictError
from ameide_command.domain.model import CREATED, MODIFIED, PRIVATE, REFERENCED, TEAM, UNSPECIFIED_RELATION
from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_ev
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as types
from ameide_eventstore.memory import InMemoryEventStore
from tests.unit.command.command_app import command_app, context, history, payloads
from tests.unit.command.command_builders import OWNER, PEER, STRANGER

pytestmark = pytest.mark.unit

BODY = types.ArtifactContent(mime_type="text/plain", body=b"v2")


class TestCreateArtifact:
    async def test_version_one_owned_by_caller(self) -> None:
        """An artifact starts at version 1 with its content in the created event."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            outcome = await app.artifacts.create_artifact(
                context(OWNER), CreateArtifact("Order", "bpmn", {"a": "b"}, types.ArtifactContent(body=b"<x/>"))
            )
        created = (await payloads(store, outcome.response.artifact_id))[0]
        assert outcome.response.version == 1
        assert isinstance(created, art_ev.ArtifactCreatedEvent)
        assert (created.user_id, created.tenant_id, created.content.body) == (OWNER.user_id, OWNER.tenant_id, b"<x/>")

    async def test_primary_chat_is_linked_created_on_both_sides(self) -> None:
        """Created from a chat: the chat and the artifact both record the CREATED link, in one append."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", PRIVATE, ""))).response.threads
            outcome = await app.artifacts.create_artifact(
                context(OWNER), CreateArtifact("Order", "bpmn", primary_chat_id=chat.id)
            )
        art_id = outcome.response.artifact_id
        assert outcome.response.version == 1  # the link is on the stream, not a new artifact version
        assert await history(store, art_id) == ["ArtifactCreatedEvent", "ArtifactChatLinkedEvent"]
        assert await history(store, chat.id) == ["ChatCreatedEvent", "ArtifactAssociatedEvent"]
        linked = (await payloads(store, chat.id))[1]
        assert linked.relation_type == CREATED  # type: ignore[attr-defined]
        positions = [e.global_position for e in await store.read_all()]
        assert positions == sorted(positions)

    async def test_primary_chat_must_be_writable(self) -> None:
        """Another user's PRIVATE chat cannot be the primary chat."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", PRIVATE, ""))).response.threads
            with pytest.raises(NotFoundError, match="chat"):
                await app.artifacts.create_artifact(context(PEER), CreateArtifact("A", "bpmn", primary_chat_id=chat.id))
        assert len(await store.read_all()) == 1


class TestLinks:
    async def test_associate_then_dissociate_writes_both_histories(self) -> None:
        """Linking and unlinking are events on both streams; unlinking twice is NOT_FOUND."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", TEAM, ""))).response.threads
            art = (await app.artifacts.create_artifact(context(PEER), CreateArtifact("A", "text"))).response
            ref = await app.artifacts.associate_chat(
                context(PEER), LinkChatArtifact(chat.id, art.artifact_id, UNSPECIFIED_RELATION)
            )
            again = await app.artifacts.associate_chat(
                context(OWNER), LinkChatArtifact(chat.id, art.artifact_id, MODIFIED)
            )
            gone = await app.artifacts.dissociate_chat(context(OWNER), UnlinkChatArtifact(chat.id, art.artifact_id))
            with pytest.raises(NotFoundError):
                await app.artifacts.dissociate_chat(context(OWNER), UnlinkChatArtifact(chat.id, art.artifact_id))
        reference = ref.response.threads_reference
        assert (reference.threads_id, reference.threads_title, reference.relation_type) == (chat.id, "P", REFERENCED)
        assert again.response.threads_reference == reference
        assert gone.response.success
        assert await history(store, chat.id) == [
            "ChatCreatedEvent",
            "ArtifactAssociatedEvent",
            "ArtifactDissociatedEvent",
        ]
        assert await history(store, art.artifact_id) == [
            "ArtifactCreatedEvent",
            "ArtifactChatLinkedEvent",
            "ArtifactChatUnlinkedEvent",
        ]

    async def test_other_tenant_cannot_link(self) -> None:
        """An artifact of another tenant is NOT_FOUND."""
        async with command_app() as app:
            art = (await app.artifacts.create_artifact(context(OWNER), CreateArtifact("A", "text"))).response
            chat = (await app.chats.create_chat(context(STRANGER), StartChat("P", TEAM, ""))).response.threads
            with pytest.raises(NotFoundError, match="artifact"):
                await app.artifacts.associate_chat(
                    context(STRANGER), LinkChatArtifact(chat.id, art.artifact_id, UNSPECIFIED_RELATION)
                )


class TestVersions:
    async def test_content_from_a_chat_links_modified_once(self) -> None:
        """A content change from a chat links it MODIFIED; the next change from it adds only content."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", PRIVATE, ""))).response.threads
            art = (await app.artifacts.create_artifact(context(OWNER), CreateArtifact("A", "text"))).response
            v2 = await app.artifacts.update_content(
                context(OWNER), UpdateArtifactContent(art.artifact_id, BODY, expected_version=1, chat_id=chat.id)
            )
            v3 = await app.artifacts.update_content(
                context(OWNER), UpdateArtifactContent(art.artifact_id, BODY, expected_version=2, chat_id=chat.id)
            )
            with pytest.raises(VersionConflictError):
                await app.artifacts.update_content(
                    context(OWNER), UpdateArtifactContent(art.artifact_id, BODY, expected_version=2)
                )
        assert (v2.response.version, v3.response.version) == (2, 3)
        assert await history(store, art.artifact_id) == [
            "ArtifactCreatedEvent",
            "ArtifactContentUpdatedEvent",
            "ArtifactChatLinkedEvent",
            "ArtifactContentUpdatedEvent",
        ]
        assert await history(store, chat.id) == ["ChatCreatedEvent", "ArtifactAssociatedEvent"]
        assert (await payloads(store, chat.id))[1].relation_type == MODIFIED  # type: ignore[attr-defined]

    async def test_links_keep_the_version(self) -> None:
        """Linking, unlinking and a chat's MODIFIED link leave the version: an editor's expected_version still holds."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            chat = (await app.chats.create_chat(context(PEER), StartChat("P", TEAM, ""))).response.threads
            art = (await app.artifacts.create_artifact(context(OWNER), CreateArtifact("A", "text"))).response
            await app.artifacts.associate_chat(context(PEER), LinkChatArtifact(chat.id, art.artifact_id, REFERENCED))
            after_link = await app.artifacts.update_content(
                context(OWNER), UpdateArtifactContent(art.artifact_id, BODY, expected_version=1)
            )
            await app.artifacts.dissociate_chat(context(PEER), UnlinkChatArtifact(chat.id, art.artifact_id))
            after_unlink = await app.artifacts.update_metadata(
                context(OWNER), UpdateArtifactMetadata(art.artifact_id, title="B", expected_version=2)
            )
            with pytest.raises(VersionConflictError) as stale:
                await app.artifacts.update_content(
                    context(OWNER), UpdateArtifactContent(art.artifact_id, BODY, expected_version=2)
                )
        assert (after_link.response.version, after_unlink.response.version) == (2, 3)
        assert stale.value.reason == "VERSION_MISMATCH"
        assert len(await history(store, art.artifact_id)) == 5  # the stream still records every event

    async def test_metadata_and_delete(self) -> None:
        """Tenant users edit metadata; only the owner deletes; a deleted artifact is gone."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            art = (await app.artifacts.create_artifact(context(OWNER), CreateArtifact("A", "text"))).response
            meta = await app.artifacts.update_metadata(
                context(PEER), UpdateArtifactMetadata(art.artifact_id, title="B", expected_version=1)
            )
            with pytest.raises(PermissionDeniedError):
                await app.artifacts.delete_artifact(context(PEER), DeleteArtifact(art.artifact_id))
            with pytest.raises(NotFoundError):
                await app.artifacts.delete_artifact(context(STRANGER), DeleteArtifact(art.artifact_id))
            deleted = await app.artifacts.delete_artifact(context(OWNER), DeleteArtifact(art.artifact_id))
            with pytest.raises(NotFoundError):
                await app.artifacts.update_content(context(OWNER), UpdateArtifactContent(art.artifact_id, BODY))
        assert meta.response.version == 2
        assert deleted.response.success
        assert await history(store, art.artifact_id) == [
            "ArtifactCreatedEvent",
            "ArtifactMetadataUpdatedEvent",
            "ArtifactDeletedEvent",
        ]

    async def test_unknown_artifact_is_not_found(self) -> None:
        """Updating an artifact that was never created is NOT_FOUND."""
        async with command_app() as app:
            with pytest.raises(NotFoundError):
                await app.artifacts.update_content(context(OWNER), UpdateArtifactContent(str(uuid.uuid4()), BODY))
