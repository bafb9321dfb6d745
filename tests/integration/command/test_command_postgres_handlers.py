from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_command.application.errors import KeyReusedError
from ameide_command.bootstrap import CommandApp, bootstrap
from ameide_command.domain.commands import (
    CreateArtifact,
    EnsureChatForArtifact,
    LinkChatArtifact,
    SendMessage,
    StartChat,
    UnlinkChatArtifact,
    UpdateArtifactContent,
)
from ameide_command.domain.errors import NotFoundError
from ameide_command.domain.model import MODIFIED, PRIVATE, TEAM, UNSPECIFIED_RELATION, Actor
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2
from ameide_core_proto.threads.v1 import threads_events_pb2
from ameide_eventstore.postgres import PostgresEventStore
from tests.unit.command.command_app import SETTINGS, context, history, payloads
from tests.unit.command.command_builders import text_message

pytestmark = pytest.mark.integration


def actors() -> tuple[Actor, Actor, Actor]:
    """An owner and a peer in a fresh tenant, and a user of another fresh tenant."""
    tenant, other = f"tenant-{uuid.uuid4().hex[:8]}", f"tenant-{uuid.uuid4().hex[:8]}"
    return Actor("owner", tenant), Actor("peer", tenant), Actor("stranger", other)


@pytest.fixture(name="app")
async def fixture_app(engine: AsyncEngine) -> AsyncIterator[CommandApp]:
    """The command app over the run's PostgreSQL database (Redis hints off: nothing listens here)."""
    async with bootstrap(SETTINGS, event_store=PostgresEventStore(engine), publish_hints=False) as app:
        yield app


def ensure(artifact_id: str, chat_id: str = "", text: str = "hello") -> EnsureChatForArtifact:
    """An Ensure command."""
    return EnsureChatForArtifact(artifact_id, chat_id, text_message(text), PRIVATE)


class TestOnPostgres:
    async def test_artifact_first_conversation_history(self, app: CommandApp) -> None:
        """Ensure, send, link, modify, unlink: both streams' histories are exactly as decided, in order."""
        owner, peer, stranger = actors()
        store = app.event_store
        art = (await app.artifacts.create_artifact(context(owner), CreateArtifact("Order", "bpmn"))).response
        first = await app.ensure.ensure_and_send(context(owner, key="e1", request=b"1"), ensure(art.artifact_id))
        chat_id = first.response.threads_id
        await app.chats.send_message(context(owner), SendMessage(chat_id, text_message("more")))
        await app.artifacts.update_content(
            context(owner),
            UpdateArtifactContent(art.artifact_id, artifacts_types_pb2.ArtifactContent(body=b"v2"), chat_id=chat_id),
        )
        await app.artifacts.dissociate_chat(context(owner), UnlinkChatArtifact(chat_id, art.artifact_id))
        with pytest.raises(NotFoundError):
            await app.ensure.ensure_and_send(context(stranger, key="e2", request=b"2"), ensure(art.artifact_id))
        with pytest.raises(NotFoundError):
            await app.chats.send_message(context(peer), SendMessage(chat_id, text_message()))
        assert await history(store, chat_id) == [
            "ChatCreatedEvent",
            "ArtifactAssociatedEvent",
            "MessageSentEvent",
            "MessageSentEvent",
            "ArtifactDissociatedEvent",
        ]
        assert await history(store, art.artifact_id) == [
            "ArtifactCreatedEvent",
            "ArtifactChatLinkedEvent",
            "ArtifactContentUpdatedEvent",
            "ArtifactChatUnlinkedEvent",
        ]
        head = (await store.load_states([uuid.UUID(chat_id)]))[uuid.UUID(chat_id)]
        snapshot = json.loads(head.snapshot or b"{}")
        assert (head.version, snapshot["messages"], snapshot["links"]) == (5, 2, {})

    async def test_event_metadata_and_idempotency_record(self, app: CommandApp) -> None:
        """Events carry the request's metadata; a retry replays; another request under the key is refused."""
        owner, _, _ = actors()
        art = (await app.artifacts.create_artifact(context(owner), CreateArtifact("Doc", "text"))).response
        first = await app.ensure.ensure_and_send(context(owner, key="k", request=b"r"), ensure(art.artifact_id))
        again = await app.ensure.ensure_and_send(context(owner, key="k", request=b"r"), ensure(art.artifact_id))
        with pytest.raises(KeyReusedError):
            await app.ensure.ensure_and_send(context(owner, key="k", request=b"x"), ensure(art.artifact_id, text="x"))
        assert again.replayed
        assert again.response == first.response
        assert first.expires_at is not None
        recorded = await app.event_store.read_stream(uuid.UUID(first.response.threads_id))
        assert {e.metadata["idempotency_key"] for e in recorded} == {"k"}
        assert {e.metadata["tenant_id"] for e in recorded} == {owner.tenant_id}
        assert {e.metadata["causation_id"] for e in recorded} == {"req-1"}

    async def test_fifty_concurrent_retries_make_one_chat(self, app: CommandApp) -> None:
        """50 concurrent Ensure calls with one key: one chat, one message, 50 identical responses."""
        owner, _, _ = actors()
        art = (await app.artifacts.create_artifact(context(owner), CreateArtifact("Order", "bpmn"))).response
        outcomes = await asyncio.gather(
            *(
                app.ensure.ensure_and_send(context(owner, key="same", request=b"r"), ensure(art.artifact_id))
                for _ in range(50)
            )
        )
        responses = {o.response.SerializeToString(deterministic=True) for o in outcomes}
        assert len(responses) == 1
        assert sum(not o.replayed for o in outcomes) == 1
        chat_id = outcomes[0].response.threads_id
        assert await history(app.event_store, chat_id) == [
            "ChatCreatedEvent",
            "ArtifactAssociatedEvent",
            "MessageSentEvent",
        ]
        assert await history(app.event_store, art.artifact_id) == ["ArtifactCreatedEvent", "ArtifactChatLinkedEvent"]

    async def test_twenty_distinct_keys_make_twenty_chats(self, app: CommandApp) -> None:
        """20 concurrent first messages about one artifact: 20 chats, each with exactly one message."""
        owner, _, _ = actors()
        art = (await app.artifacts.create_artifact(context(owner), CreateArtifact("Order", "bpmn"))).response
        outcomes = await asyncio.gather(
            *(
                app.ensure.ensure_and_send(context(owner, key=f"k{i}", request=b"r"), ensure(art.artifact_id))
                for i in range(20)
            )
        )
        chat_ids = {o.response.threads_id for o in outcomes}
        assert len(chat_ids) == 20
        assert all(o.response.threads_created and o.response.persisted_message.sequence == 1 for o in outcomes)
        for chat_id in chat_ids:
            assert await history(app.event_store, chat_id) == [
                "ChatCreatedEvent",
                "ArtifactAssociatedEvent",
                "MessageSentEvent",
            ]
        linked = await payloads(app.event_store, art.artifact_id)
        assert {p.threads_id for p in linked[1:]} == chat_ids  # type: ignore[attr-defined]
        assert len(linked) == 21

    async def test_two_users_sending_concurrently_get_a_consistent_order(self, app: CommandApp) -> None:
        """Two users send 10 messages each at once to a TEAM chat: all 20 stored, sequences follow the stream."""
        owner, peer, _ = actors()
        chat = (await app.chats.create_chat(context(owner), StartChat("Team", TEAM, ""))).response.threads
        sends = [
            app.chats.send_message(context(user), SendMessage(chat.id, text_message(f"{user.user_id}-{i}")))
            for i in range(10)
            for user in (owner, peer)
        ]
        outcomes = await asyncio.gather(*sends)
        stored = [
            p for p in await payloads(app.event_store, chat.id) if isinstance(p, threads_events_pb2.MessageSentEvent)
        ]
        assert [p.message.sequence for p in stored] == list(range(1, 21))
        by_id = {o.response.message.id: o.response.message.sequence for o in outcomes}
        assert {p.message.id: p.message.sequence for p in stored} == by_id
        assert sorted(p.message.user_id for p in stored) == ["owner"] * 10 + ["peer"] * 10

    async def test_associate_is_idempotent_across_sides(self, app: CommandApp) -> None:
        """Linking from the chat side then from the artifact side writes one pair of events."""
        owner, _, _ = actors()
        chat = (await app.chats.create_chat(context(owner), StartChat("c", PRIVATE, ""))).response.threads
        art = (await app.artifacts.create_artifact(context(owner), CreateArtifact("a", "text"))).response
        one = await app.chats.associate_artifact(context(owner), LinkChatArtifact(chat.id, art.artifact_id, MODIFIED))
        two = await app.artifacts.associate_chat(
            context(owner), LinkChatArtifact(chat.id, art.artifact_id, UNSPECIFIED_RELATION)
        )
        assert two.response.threads_reference.relation_type == one.response.relation.type == MODIFIED
        assert await history(app.event_store, chat.id) == ["ChatCreatedEvent", "ArtifactAssociatedEvent"]
