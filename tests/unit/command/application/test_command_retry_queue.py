"""Commands re-deciding after a conflict keep their turn: newcomers on the same stream queue behind them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest

from ameide_command.application.retries import RetryPolicy, StreamLocks
from ameide_command.domain.commands import SendMessage, StartChat
from ameide_command.domain.model import TEAM
from ameide_eventstore import StreamState
from ameide_eventstore.memory import InMemoryEventStore
from tests.unit.command.command_app import command_app, context
from tests.unit.command.command_builders import OWNER, PEER, text_message

pytestmark = pytest.mark.unit


class GatedStore(InMemoryEventStore):
    """Holds the first stream-head read after ``arm()`` until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    def arm(self) -> None:
        """Gate the next head read."""
        self.armed = True

    async def load_states(self, stream_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StreamState]:
        """Wait at the gate once, then read."""
        if self.armed:
            self.armed = False
            self.entered.set()
            await self.release.wait()
        return await super().load_states(stream_ids)


class TestStreamLocks:
    async def test_a_stream_is_queued_only_while_held_or_awaited(self) -> None:
        """Held streams are queued; others, empty ids and released streams are not."""
        locks = StreamLocks()
        assert not locks.queued(["a"])
        async with locks.hold(["a", "b"]):
            assert locks.queued(["b", "c"])
            assert not locks.queued(["c", ""])
        assert not locks.queued(["a", "b"])


class TestRetryQueue:
    async def test_a_newcomer_waits_for_the_command_re_deciding_on_its_chat(self) -> None:
        """A send re-deciding under its chat's lock keeps its place: a send arriving meanwhile queues behind it."""
        store = GatedStore()
        async with (
            command_app(store, retry=RetryPolicy(backoff_seconds=0)) as mine,
            command_app(store, random_ids=True) as other,
        ):
            chat = (await mine.chats.create_chat(context(OWNER), StartChat("P", TEAM, ""))).response.threads
            await other.chats.send_message(context(PEER), SendMessage(chat.id, text_message("theirs")))
            store.arm()  # the first send's re-decision reads the head at the gate
            first = asyncio.create_task(mine.chats.send_message(context(OWNER), SendMessage(chat.id, text_message())))
            await store.entered.wait()
            second = asyncio.create_task(mine.chats.send_message(context(OWNER), SendMessage(chat.id, text_message())))
            for _ in range(50):  # a newcomer not queued would read, decide and append in these turns
                await asyncio.sleep(0)
            assert not second.done()
            store.release.set()
            sequences = [(await task).response.message.sequence for task in (first, second)]
        assert sequences == [2, 3]
