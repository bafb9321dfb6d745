"""Idempotent replays come from the append's claim; the stored response is looked up only when a retry cannot append."""

from __future__ import annotations

import pytest

from ameide_command.application.errors import KeyReusedError
from ameide_command.domain.commands import CreateArtifact, DeleteChat, SendMessage, StartChat
from ameide_command.domain.errors import NotFoundError
from ameide_command.domain.model import PRIVATE
from ameide_eventstore import IdempotencyKey, StoredResponse
from ameide_eventstore.memory import InMemoryEventStore
from tests.unit.command.command_app import command_app, context, history
from tests.unit.command.command_builders import OWNER, text_message

pytestmark = pytest.mark.unit


class CountingStore(InMemoryEventStore):
    """Counts stored-response lookups (the round trip a first request must not pay)."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    async def get_idempotent_response(self, key: IdempotencyKey) -> StoredResponse | None:
        """See ``EventStore.get_idempotent_response``."""
        self.lookups += 1
        return await super().get_idempotent_response(key)


async def test_first_requests_and_retries_that_append_need_no_lookup() -> None:
    """Keyed Send and Ensure: the first call and an identical retry go straight to the append (the claim replays)."""
    store = CountingStore()
    async with command_app(store) as app:
        chat = (await app.chats.create_chat(context(OWNER), StartChat("P", PRIVATE, ""))).response.threads
        send = SendMessage(chat.id, text_message())
        first = await app.chats.send_message(context(OWNER, key="k", request=b"one"), send)
        again = await app.chats.send_message(context(OWNER, key="k", request=b"one"), send)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.response == first.response
    assert again.expires_at == first.expires_at
    assert store.lookups == 0
    assert await history(store, chat.id) == ["ChatCreatedEvent", "MessageSentEvent"]


async def test_a_retry_that_today_s_state_refuses_still_gets_its_original_answer() -> None:
    """The chat was deleted after the send succeeded: the retry replays instead of answering NOT_FOUND."""
    store = CountingStore()
    async with command_app(store) as app:
        chat = (await app.chats.create_chat(context(OWNER), StartChat("P", PRIVATE, ""))).response.threads
        send = SendMessage(chat.id, text_message())
        first = await app.chats.send_message(context(OWNER, key="k", request=b"one"), send)
        await app.chats.delete_chat(context(OWNER), DeleteChat(chat.id))
        again = await app.chats.send_message(context(OWNER, key="k", request=b"one"), send)
        with pytest.raises(KeyReusedError) as reused:
            await app.chats.send_message(context(OWNER, key="k", request=b"two"), send)
        with pytest.raises(NotFoundError):
            await app.chats.send_message(context(OWNER, key="fresh", request=b"one"), send)
    assert again.replayed
    assert again.response == first.response
    assert reused.value.reason == "IDEMPOTENCY_KEY_REUSED"
    assert await history(store, chat.id) == ["ChatCreatedEvent", "MessageSentEvent", "ChatDeletedEvent"]


async def test_a_keyed_create_replays_the_same_ids() -> None:
    """CreateArtifact retried with its key answers the artifact created the first time; nothing new is written."""
    store = CountingStore()
    async with command_app(store) as app:
        first = await app.artifacts.create_artifact(context(OWNER, key="a", request=b"x"), CreateArtifact("O", "bpmn"))
        again = await app.artifacts.create_artifact(context(OWNER, key="a", request=b"x"), CreateArtifact("O", "bpmn"))
    assert again.replayed
    assert again.response == first.response
    assert store.lookups == 0
    assert await history(store, first.response.artifact_id) == ["ArtifactCreatedEvent"]
