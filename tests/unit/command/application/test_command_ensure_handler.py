from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

import pytest

from ameide_command.application.errors import KeptChangingError, KeyReusedError
from ameide_command.application.retries import RetryPolicy
from ameide_command.domain.commands import (
    CreateArtifact,
    EnsureChatForArtifact,
    SendMessage,
    StartChat,
    UpdateArtifactMetadata,
)
from ameide_command.domain.errors import NotFoundError
from ameide_command.domain.model import PRIVATE, REFERENCED, TEAM, UNSPECIFIED_VISIBILITY
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_ev
from ameide_eventstore import AppendResult, IdempotentWrite, NewEvent, StreamAppend
from ameide_eventstore.memory import InMemoryEventStore
from tests.unit.command.command_app import command_app, context, history, payloads
from tests.unit.command.command_builders import OWNER, PEER, STRANGER, text_message

pytestmark = pytest.mark.unit


def ensure(artifact_id: str, chat_id: str = "", visibility: int = UNSPECIFIED_VISIBILITY) -> EnsureChatForArtifact:
    """An Ensure command sending "hello"."""
    return EnsureChatForArtifact(artifact_id, chat_id, text_message(), visibility)  # type: ignore[arg-type]


class TestEnsureHandler:
    async def test_new_chat_is_one_atomic_multi_stream_append(self) -> None:
        """Chat created + associated + message on the chat stream, linked on the artifact stream, one commit."""
        store = RacingStore(races=0)
        async with command_app(store) as app:
            art = (await app.artifacts.create_artifact(context(OWNER), CreateArtifact("Order", "bpmn"))).response
            store.calls.clear()
            outcome = await app.ensure.ensure_and_send(context(OWNER, key="k", request=b"r"), ensure(art.artifact_id))
        response = outcome.response
        message = response.persisted_message
        assert response.threads_created
        assert (message.threads_id, message.sequence, message.artifact_id) == (response.threads_id, 1, art.artifact_id)
        assert (message.user_id, message.tenant_id, message.idempotency_key) == (OWNER.user_id, OWNER.tenant_id, "k")
        assert str(uuid.UUID(message.id)) == message.id
        assert message.HasField("created_at")
        assert await history(store, response.threads_id) == [
            "ChatCreatedEvent",
            "ArtifactAssociatedEvent",
            "MessageSentEvent",
        ]
        assert await history(store, art.artifact_id) == ["ArtifactCreatedEvent", "ArtifactChatLinkedEvent"]
        created = (await payloads(store, response.threads_id))[0]
        assert isinstance(created, chat_ev.ChatCreatedEvent)
        assert (created.title, created.agent_id, created.visibility) == (
            "Discussion about Order",
            "bpmn-assistant",
            PRIVATE,
        )
        (call,) = store.calls
        assert call == {response.threads_id: 3, art.artifact_id: 1}

    async def test_replay_returns_identical_response_and_reuse_is_rejected(self) -> None:
        """A retried Ensure answers the same chat and message; another request under the key is refused."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            art = (await app.artifacts.create_artifact(context(OWNER), CreateArtifact("Order", "bpmn"))).response
            first = await app.ensure.ensure_and_send(context(OWNER, key="k", request=b"r"), ensure(art.artifact_id))
            again = await app.ensure.ensure_and_send(context(OWNER, key="k", request=b"r"), ensure(art.artifact_id))
            with pytest.raises(KeyReusedError):
                await app.ensure.ensure_and_send(
                    context(OWNER, key="k", request=b"other"), ensure(art.artifact_id, visibility=TEAM)
                )
        assert again.replayed
        assert again.response.SerializeToString() == first.response.SerializeToString()
        assert await history(store, first.response.threads_id) == [
            "ChatCreatedEvent",
            "ArtifactAssociatedEvent",
            "MessageSentEvent",
        ]

    async def test_existing_chat_is_linked_once(self) -> None:
        """Into an existing TEAM chat: linked REFERENCED the first time only."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            art = (await app.artifacts.create_artifact(context(OWNER), CreateArtifact("Order", "text"))).response
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", TEAM, ""))).response.threads
            first = await app.ensure.ensure_and_send(context(PEER), ensure(art.artifact_id, chat.id))
            second = await app.ensure.ensure_and_send(context(OWNER), ensure(art.artifact_id, chat.id))
        assert (first.response.threads_created, second.response.threads_created) == (False, False)
        assert [first.response.persisted_message.sequence, second.response.persisted_message.sequence] == [1, 2]
        assert await history(store, chat.id) == [
            "ChatCreatedEvent",
            "ArtifactAssociatedEvent",
            "MessageSentEvent",
            "MessageSentEvent",
        ]
        assert (await payloads(store, chat.id))[1].relation_type == REFERENCED  # type: ignore[attr-defined]

    async def test_unreadable_artifact_or_chat_is_not_found(self) -> None:
        """Another tenant's artifact, or another user's PRIVATE chat, is NOT_FOUND and writes nothing."""
        store = InMemoryEventStore()
        async with command_app(store) as app:
            art = (await app.artifacts.create_artifact(context(OWNER), CreateArtifact("A", "text"))).response
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", PRIVATE, ""))).response.threads
            with pytest.raises(NotFoundError, match="artifact"):
                await app.ensure.ensure_and_send(context(STRANGER), ensure(art.artifact_id))
            with pytest.raises(NotFoundError, match="chat"):
                await app.ensure.ensure_and_send(context(PEER), ensure(art.artifact_id, chat.id))
        assert len(await store.read_all()) == 2


class RacingStore(InMemoryEventStore):
    """Records each append call; before each of the first ``races``, another writer appends to the chat first.

    The competitor is another process's command app: this process's own commands queue behind a retrying one.
    """

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races
        self.competitor: Callable[[], Awaitable[object]] | None = None
        self._competing = False
        self.calls: list[dict[str, int]] = []

    async def append(
        self, appends: Sequence[StreamAppend], *, idempotency: IdempotentWrite | None = None
    ) -> AppendResult:
        """Let the competitor write first (while races remain), then append."""
        if self.races > 0 and self.competitor is not None and not self._competing:
            self.races -= 1
            self._competing = True
            try:
                await self.competitor()
            finally:
                self._competing = False
        self.calls.append({str(item.stream_id): len(item.events) for item in appends})
        return await super().append(appends, idempotency=idempotency)


class TestConflicts:
    async def test_conflict_is_decided_again_on_fresh_state(self) -> None:
        """A concurrent message makes the append conflict; the retry stores the message after it."""
        store = RacingStore(races=2)
        async with (
            command_app(store, retry=RetryPolicy(backoff_seconds=0)) as app,
            command_app(store, random_ids=True) as other_process,
        ):
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", TEAM, ""))).response.threads
            store.competitor = lambda: other_process.chats.send_message(
                context(PEER), SendMessage(chat.id, text_message("x"))
            )
            outcome = await app.chats.send_message(context(OWNER), SendMessage(chat.id, text_message("mine")))
        assert outcome.response.message.sequence == 3
        assert await history(store, chat.id) == ["ChatCreatedEvent", *["MessageSentEvent"] * 3]

    async def test_persistent_conflict_is_aborted(self) -> None:
        """After the bounded number of attempts the caller gets ABORTED and nothing of theirs is stored."""
        store = RacingStore(races=100)
        async with (
            command_app(store, retry=RetryPolicy(attempts=3, backoff_seconds=0)) as app,
            command_app(store, random_ids=True) as other_process,
        ):
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", TEAM, ""))).response.threads
            store.competitor = lambda: other_process.chats.send_message(
                context(PEER), SendMessage(chat.id, text_message("x"))
            )
            with pytest.raises(KeptChangingError):
                await app.chats.send_message(context(OWNER), SendMessage(chat.id, text_message("mine")))
        senders = [p.message.user_id for p in await payloads(store, chat.id) if isinstance(p, chat_ev.MessageSentEvent)]
        assert senders == [PEER.user_id] * 3


class TestPopularArtifact:
    async def test_first_messages_decided_at_one_artifact_version_never_conflict(self) -> None:
        """Another process links a chat to the artifact first: this one's Ensure, decided before, still lands at once.

        Links commute; the next Ensure then decides on the version the store gave the first.
        """
        store = RacingStore(races=1)
        async with (
            command_app(store, retry=RetryPolicy(attempts=1)) as app,
            command_app(store, random_ids=True) as other_process,
        ):
            art = (await app.artifacts.create_artifact(context(OWNER), CreateArtifact("Order", "bpmn"))).response
            store.competitor = lambda: other_process.ensure.ensure_and_send(context(PEER), ensure(art.artifact_id))
            first = await app.ensure.ensure_and_send(context(OWNER), ensure(art.artifact_id))
            second = await app.ensure.ensure_and_send(context(OWNER), ensure(art.artifact_id))
        assert first.response.threads_created
        assert second.response.threads_created
        assert await history(store, art.artifact_id) == ["ArtifactCreatedEvent", *["ArtifactChatLinkedEvent"] * 3]
        assert [{first.response.threads_id: 3, art.artifact_id: 1}] == store.calls[-2:-1]

    async def test_a_change_to_the_artifact_in_between_still_conflicts(self) -> None:
        """Another process renames the artifact first: the Ensure decided before it conflicts.

        The new chat's title comes from the artifact's (here ABORTED after its single attempt).
        """
        store = RacingStore(races=1)
        async with (
            command_app(store, retry=RetryPolicy(attempts=1)) as app,
            command_app(store, random_ids=True) as other_process,
        ):
            art = (await app.artifacts.create_artifact(context(OWNER), CreateArtifact("Order", "bpmn"))).response
            store.competitor = lambda: other_process.artifacts.update_metadata(
                context(OWNER), UpdateArtifactMetadata(art.artifact_id, title="Orders")
            )
            with pytest.raises(KeptChangingError):
                await app.ensure.ensure_and_send(context(OWNER), ensure(art.artifact_id))
        assert await history(store, art.artifact_id) == ["ArtifactCreatedEvent", "ArtifactMetadataUpdatedEvent"]


class TestStreamsWithoutSnapshot:
    async def test_state_is_rebuilt_from_events(self) -> None:
        """A stream written without a snapshot (e.g. imported) is loaded by replaying its events."""
        store = InMemoryEventStore()
        chat_id = uuid.uuid4()
        created = chat_ev.ChatCreatedEvent(
            threads_id=str(chat_id), user_id=OWNER.user_id, tenant_id=OWNER.tenant_id, title="Old", visibility=TEAM
        )
        sent = chat_ev.MessageSentEvent(message_id="m", threads_id=str(chat_id))
        imported = [
            NewEvent(uuid.uuid4(), p.DESCRIPTOR.full_name, p.SerializeToString(), metadata={"user_id": OWNER.user_id})
            for p in (created, sent)
        ]
        await store.append([StreamAppend(chat_id, "chat", OWNER.tenant_id, 0, imported)])
        async with command_app(store) as app:
            outcome = await app.chats.send_message(context(PEER), SendMessage(str(chat_id), text_message()))
        assert outcome.response.message.sequence == 2
        head = (await store.load_states([chat_id]))[chat_id]
        assert head.version == 3
        assert head.snapshot is not None
