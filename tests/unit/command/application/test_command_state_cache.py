from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest

from ameide_command.application.retries import RetryPolicy
from ameide_command.application.state_cache import StateCache
from ameide_command.domain.commands import (
    ChangeVisibility,
    CreateArtifact,
    DeleteArtifact,
    EnsureChatForArtifact,
    SendMessage,
    StartChat,
)
from ameide_command.domain.errors import NotFoundError
from ameide_command.domain.model import PRIVATE, TEAM
from ameide_eventstore import StreamState
from ameide_eventstore.memory import InMemoryEventStore
from tests.unit.command.command_app import command_app, context, history
from tests.unit.command.command_builders import OWNER, PEER, chat_state, text_message

pytestmark = pytest.mark.unit


class CountingStore(InMemoryEventStore):
    """Counts how often stream heads are read."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    async def load_states(self, stream_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StreamState]:
        """Count, then read."""
        self.loads += 1
        return await super().load_states(stream_ids)


class TestStateCacheUnit:
    def test_lru_capacity_and_contention(self) -> None:
        """Entries are bounded; a contended stream bypasses the cache until its time is up."""
        now = [0.0]
        cache = StateCache(2, contended_seconds=5, clock=lambda: now[0])
        a, b, c = (chat_state(), chat_state(), chat_state())
        cache.put({"a": a, "b": b})
        cache.put({"c": c})
        assert cache.get(["a"], []) is None
        assert cache.get(["b", "c"], []) is not None
        cache.contend(["b"])
        cache.put({"b": b})
        assert cache.get(["b"], []) is None
        now[0] = 6
        assert cache.get(["b"], []) is not None

    def test_wrong_stream_type_is_a_miss(self) -> None:
        """A chat id asked for as an artifact is left to the store to answer."""
        cache = StateCache()
        cache.put({"a": chat_state()})
        assert cache.get([], ["a"]) is None

    def test_zero_capacity_disables(self) -> None:
        """Capacity 0 caches nothing."""
        cache = StateCache(0)
        cache.put({"a": chat_state()})
        assert cache.get(["a"], []) is None


class TestExecutorWithCache:
    async def test_consecutive_sends_skip_reading_the_head(self) -> None:
        """The process that appended a chat last decides the next message from memory (one round trip)."""
        store = CountingStore()
        async with command_app(store) as app:
            chat = (await app.chats.create_chat(context(OWNER), StartChat("P", PRIVATE, ""))).response.threads
            before = store.loads
            for _ in range(3):
                await app.chats.send_message(context(OWNER), SendMessage(chat.id, text_message()))
        assert store.loads == before

    async def test_another_writer_is_detected_and_the_stream_bypasses_the_cache(self) -> None:
        """A write by another process makes the cached decision conflict; it is redone on fresh state."""
        store = CountingStore()
        async with (
            command_app(store, retry=RetryPolicy(backoff_seconds=0)) as mine,
            command_app(store, random_ids=True) as other,
        ):
            chat = (await mine.chats.create_chat(context(OWNER), StartChat("P", TEAM, ""))).response.threads
            await other.chats.send_message(context(PEER), SendMessage(chat.id, text_message("theirs")))
            first = await mine.chats.send_message(context(OWNER), SendMessage(chat.id, text_message("mine")))
            loads = store.loads
            second = await mine.chats.send_message(context(OWNER), SendMessage(chat.id, text_message("again")))
        assert (first.response.message.sequence, second.response.message.sequence) == (2, 3)
        assert store.loads == loads + 1  # contended: read the head again
        assert await history(store, chat.id) == ["ChatCreatedEvent", *["MessageSentEvent"] * 3]

    async def test_refusal_on_cached_state_is_checked_on_fresh_state(self) -> None:
        """A chat shared by another process is writable for a peer even though this process cached it PRIVATE."""
        store = InMemoryEventStore()
        async with command_app(store) as mine, command_app(store, random_ids=True) as other:
            chat = (await mine.chats.create_chat(context(OWNER), StartChat("P", PRIVATE, ""))).response.threads
            await mine.chats.send_message(context(OWNER), SendMessage(chat.id, text_message()))
            await other.chats.update_visibility(context(OWNER), ChangeVisibility(chat.id, TEAM))
            sent = await mine.chats.send_message(context(PEER), SendMessage(chat.id, text_message("peer")))
        assert sent.response.message.sequence == 2

    async def test_read_only_streams_are_read_fresh(self) -> None:
        """An artifact only read by a decision (linked chat) comes from the store, so its deletion is seen."""
        store = InMemoryEventStore()
        async with command_app(store) as mine, command_app(store, random_ids=True) as other:
            art = (await mine.artifacts.create_artifact(context(OWNER), CreateArtifact("A", "text"))).response
            made = await mine.ensure.ensure_and_send(
                context(OWNER), EnsureChatForArtifact(art.artifact_id, "", text_message(), PRIVATE)
            )
            await other.artifacts.delete_artifact(context(OWNER), DeleteArtifact(art.artifact_id))
            with pytest.raises(NotFoundError, match="artifact"):
                await mine.ensure.ensure_and_send(
                    context(OWNER),
                    EnsureChatForArtifact(art.artifact_id, made.response.threads_id, text_message(), PRIVATE),
                )
