from __future__ import annotations

import uuid

import pytest

from ameide_command.application.errors import KeyReusedError
from ameide_command.domain.commands import (
    ChangeVisibility,
    CreateArtifact,
    DeleteChat,
    LinkChatArtifact,
    RenameChat,
    SendMessage,
    StartChat,
)
from ameide_command.domain.errors import NotFoundError, PermissionDeniedError
from ameide_command.domain.model import CREATED, MODIFIED, PRIVATE, REFERENCED, TEAM, UNSPECIFIED_VISIBILITY
from ameide_eventstore.memory import InMemoryEventStore
from ameide_runtime import consistency
from ameide_runtime.tokens import TokenCodec
from tests.unit.command.command_app import SETTINGS, command_app, context, history
from tests.unit.command.command_builders import OWNER, PEER, STRANGER, T0, text_message

pytestmark = pytest.mark.unit

CODEC = TokenCodec(SETTINGS.auth.token_key())


def token_versions(token: str) -> dict[str, int]:
    """The stream versions a consistency token names."""
    return {str(stream): version for stream, version in consistency.decode(CODEC, token).items()}


class TestCreateChat:
    async def test_creates_private_chat_with_default_agent(self) -> None:
        """A new chat is PRIVATE by default, owned by the caller, version 1, with a token naming it."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            outcome = await app.chats.create_chat(context(OWNER), StartChat("Plan", UNSPECIFIED_VISIBILITY, ""))
        chat = outcome.response.threads
        assert (chat.title, chat.visibility, chat.user_id, chat.tenant_id) == (
            "Plan",
            PRIVATE,
            "user-owner",
            "tenant-a",
        )
        assert (chat.agent_id, chat.version, chat.message_count) == ("general-assistant", 1, 0)
        assert chat.created_at.ToDatetime(tzinfo=T0.tzinfo) == T0
        assert token_versions(outcome.response.consistency_token) == {chat.id: 1}
        assert await history(store, chat.id) == ["ChatCreatedEvent"]

    async def test_from_artifact_links_created_on_both_sides(self) -> None:
        """A chat created from an artifact gets the kind's agent and a CREATED link on both streams."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            art = (await app.artifacts.create_artifact(context(OWNER), CreateArtifact("Order", "bpmn"))).response
            outcome = await app.chats.create_chat(
                context(PEER), StartChat("About it", TEAM, "", artifact_id=art.artifact_id)
            )
            chat = outcome.response.threads
            linked = await app.chats.associate_artifact(
                context(PEER), LinkChatArtifact(chat.id, art.artifact_id, REFERENCED)
            )
        assert chat.agent_id == "bpmn-assistant"
        assert await history(store, chat.id) == ["ChatCreatedEvent", "ArtifactAssociatedEvent"]
        assert await history(store, art.artifact_id) == ["ArtifactCreatedEvent", "ArtifactChatLinkedEvent"]
        assert linked.response.relation.type == CREATED
        assert token_versions(outcome.response.consistency_token) == {chat.id: 2, art.artifact_id: 2}

    async def test_unknown_artifact_is_not_found(self) -> None:
        """Creating from an artifact that does not exist writes nothing."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            with pytest.raises(NotFoundError):
                await app.chats.create_chat(context(OWNER), StartChat("x", PRIVATE, "", artifact_id=str(uuid.uuid4())))
        assert await store.read_all() == []

    async def test_idempotent_create_returns_the_same_chat(self) -> None:
        """The same key and request answer the same chat, marked as a replay."""
        async with command_app() as app:
            first = await app.chats.create_chat(context(OWNER, key="k", request=b"r"), StartChat("P", PRIVATE, ""))
            again = await app.chats.create_chat(context(OWNER, key="k", request=b"r"), StartChat("P", PRIVATE, ""))
        assert (first.replayed, again.replayed) == (False, True)
        assert again.response == first.response
        assert again.expires_at is not None


class TestSendMessage:
    async def test_messages_get_sequences_and_metadata(self) -> None:
        """Messages are numbered in their chat; event metadata names user, tenant, time, request and key."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", TEAM, ""))).response.threads
            first = await app.chats.send_message(context(OWNER), SendMessage(chat.id, text_message("a")))
            second = await app.chats.send_message(
                context(PEER, key="key-2", request=b"r"), SendMessage(chat.id, text_message("b"))
            )
        assert [first.response.message.sequence, second.response.message.sequence] == [1, 2]
        assert second.response.message.user_id == PEER.user_id
        assert second.response.message.idempotency_key == "key-2"
        assert token_versions(second.response.consistency_token) == {chat.id: 3}
        recorded = (await store.read_stream(uuid.UUID(chat.id)))[-1]
        assert dict(recorded.metadata) == {
            "user_id": PEER.user_id,
            "tenant_id": PEER.tenant_id,
            "occurred_at": "2025-01-01T12:00:02+00:00",
            "causation_id": "req-1",
            "correlation_id": "corr-1",
            "idempotency_key": "key-2",
        }

    async def test_replay_and_key_reuse(self) -> None:
        """A retry replays the stored response; the same key with another request is rejected."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", PRIVATE, ""))).response.threads
            send = SendMessage(chat.id, text_message())
            first = await app.chats.send_message(context(OWNER, key="k", request=b"one"), send)
            replay = await app.chats.send_message(context(OWNER, key="k", request=b"one"), send)
            with pytest.raises(KeyReusedError) as caught:
                await app.chats.send_message(context(OWNER, key="k", request=b"two"), send)
        assert replay.replayed
        assert replay.response.SerializeToString(deterministic=True) == first.response.SerializeToString(
            deterministic=True
        )
        assert caught.value.reason == "IDEMPOTENCY_KEY_REUSED"
        assert await history(store, chat.id) == ["ChatCreatedEvent", "MessageSentEvent"]

    async def test_keys_are_per_user(self) -> None:
        """Two users may use the same key independently."""
        async with command_app() as app:
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", TEAM, ""))).response.threads
            send = SendMessage(chat.id, text_message())
            mine = await app.chats.send_message(context(OWNER, key="k", request=b"x"), send)
            theirs = await app.chats.send_message(context(PEER, key="k", request=b"x"), send)
        assert not theirs.replayed
        assert theirs.response.message.id != mine.response.message.id

    async def test_private_chat_of_another_user_and_other_tenant_are_not_found(self) -> None:
        """Nobody but the owner learns a PRIVATE chat exists; other tenants never do."""
        async with command_app() as app:
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", PRIVATE, ""))).response.threads
            for actor in (PEER, STRANGER):
                with pytest.raises(NotFoundError):
                    await app.chats.send_message(context(actor), SendMessage(chat.id, text_message()))


class TestOwnerOnlyChanges:
    async def test_rename_visibility_delete(self) -> None:
        """The owner renames, shares and deletes; the chat reflects each change and its version."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", PRIVATE, ""))).response.threads
            renamed = await app.chats.update_title(context(OWNER), RenameChat(chat.id, "Q"))
            shared = await app.chats.update_visibility(context(OWNER), ChangeVisibility(chat.id, TEAM))
            with pytest.raises(PermissionDeniedError):
                await app.chats.update_title(context(PEER), RenameChat(chat.id, "Mine"))
            with pytest.raises(PermissionDeniedError):
                await app.chats.delete_chat(context(PEER), DeleteChat(chat.id))
            deleted = await app.chats.delete_chat(context(OWNER), DeleteChat(chat.id))
            with pytest.raises(NotFoundError):
                await app.chats.delete_chat(context(OWNER), DeleteChat(chat.id))
        assert (renamed.response.threads.title, renamed.response.threads.version) == ("Q", 2)
        assert (shared.response.threads.visibility, shared.response.threads.version) == (TEAM, 3)
        assert deleted.response.success
        assert token_versions(deleted.response.consistency_token) == {chat.id: 4}
        assert await history(store, chat.id) == [
            "ChatCreatedEvent",
            "ChatUpdatedEvent",
            "ChatVisibilityChangedEvent",
            "ChatDeletedEvent",
        ]

    async def test_no_change_appends_nothing_but_answers_a_token(self) -> None:
        """Renaming to the same title is a no-op that still names the chat's version."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", PRIVATE, ""))).response.threads
            same = await app.chats.update_title(context(OWNER), RenameChat(chat.id, "P"))
        assert token_versions(same.response.consistency_token) == {chat.id: 1}
        assert await history(store, chat.id) == ["ChatCreatedEvent"]


class TestAssociate:
    async def test_associating_twice_returns_the_existing_relation(self) -> None:
        """The second association writes nothing and returns the first relation (type, time, author)."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", TEAM, ""))).response.threads
            art = (await app.artifacts.create_artifact(context(PEER), CreateArtifact("A", "text"))).response
            first = await app.chats.associate_artifact(
                context(OWNER), LinkChatArtifact(chat.id, art.artifact_id, MODIFIED)
            )
            second = await app.chats.associate_artifact(
                context(PEER), LinkChatArtifact(chat.id, art.artifact_id, REFERENCED)
            )
        assert second.response.relation == first.response.relation
        assert (first.response.relation.type, first.response.relation.created_by) == (MODIFIED, OWNER.user_id)
        assert await history(store, chat.id) == ["ChatCreatedEvent", "ArtifactAssociatedEvent"]
        assert await history(store, art.artifact_id) == ["ArtifactCreatedEvent", "ArtifactChatLinkedEvent"]
        assert token_versions(second.response.consistency_token) == {chat.id: 2, art.artifact_id: 2}

    async def test_stream_of_the_other_type_is_not_found(self) -> None:
        """A chat id given as an artifact id (or the reverse) does not exist."""
        async with command_app() as app:
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", TEAM, ""))).response.threads
            with pytest.raises(NotFoundError, match="artifact"):
                await app.chats.associate_artifact(context(OWNER), LinkChatArtifact(chat.id, chat.id, REFERENCED))
