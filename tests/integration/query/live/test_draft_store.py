"""Drafts in real Redis: deltas applied once and in order, ownership, limits, completion states, expiry."""

from __future__ import annotations

import uuid

import pytest

from ameide_core_proto.live.v1 import live_types_pb2 as types
from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_query.live.signals import Signal
from ameide_runtime.identity import Identity
from tests.integration.query.live.conftest import Live

pytestmark = pytest.mark.integration

AGENT = Identity("agent-user", "acme")
STRANGER = Identity("mallory", "acme")
ELSEWHERE = Identity("agent-user", "globex")
MAX_BYTES = 1024


def chat_update(signal: Signal) -> chats.ChatUpdate:
    """A draft signal's update (drafts exist on chats only)."""
    assert isinstance(signal.update, chats.ChatUpdate)
    return signal.update


async def start(live: Live, chat: str, agent: str = "demo") -> str:
    """A new draft of AGENT in ``chat``; its id."""
    draft_id = str(uuid.uuid4())
    opened = await live.drafts.start(draft_id, AGENT, chat.removeprefix("thread:"), chat, agent)
    assert (opened.status, opened.seq) == ("active", 0)
    return draft_id


class TestDeltas:
    async def test_deltas_apply_once_and_in_order(self, live: Live, chat: str) -> None:
        """A repeated sequence is ignored, a gap is refused with the last applied, 0 is the next."""
        draft_id = await start(live, chat)
        assert (await live.drafts.append(draft_id, AGENT, 1, "Hel", MAX_BYTES)).seq == 1
        assert (await live.drafts.append(draft_id, AGENT, 1, "Hel", MAX_BYTES)).status == "ok"
        gap = await live.drafts.append(draft_id, AGENT, 3, "!", MAX_BYTES)
        assert (gap.status, gap.seq) == ("gap", 1)
        assert (await live.drafts.append(draft_id, AGENT, 0, "lo", MAX_BYTES)).seq == 2
        signals = [s for s in await live.signals(chat) if s.draft_id == draft_id]
        assert [(s.case, s.seq) for s in signals] == [("draft_started", 0), ("draft_delta", 1), ("draft_delta", 2)]
        [open_draft] = (await live.snapshots.read(chat, "acme")).drafts
        assert (open_draft.text, open_draft.seq, open_draft.agent_id) == ("Hello", 2, "demo")

    async def test_a_draft_cannot_outgrow_its_limit(self, live: Live, chat: str) -> None:
        """The delta that would pass the limit is refused; the text so far stays."""
        draft_id = await start(live, chat)
        assert (await live.drafts.append(draft_id, AGENT, 1, "x" * MAX_BYTES, MAX_BYTES)).status == "ok"
        refused = await live.drafts.append(draft_id, AGENT, 2, "y", MAX_BYTES)
        assert (refused.status, refused.seq) == ("too_large", 1)
        assert (await live.drafts.read(draft_id)).text == "x" * MAX_BYTES

    async def test_two_agents_draft_in_one_chat(self, live: Live, chat: str) -> None:
        """Two open drafts, each with its own text and sequence."""
        first, second = await start(live, chat, "planner"), await start(live, chat, "critic")
        await live.drafts.append(first, AGENT, 1, "plan", MAX_BYTES)
        await live.drafts.append(second, AGENT, 1, "critique", MAX_BYTES)
        await live.drafts.append(first, AGENT, 2, "!", MAX_BYTES)
        drafts = {d.draft_id: (d.agent_id, d.text, d.seq) for d in (await live.snapshots.read(chat, "acme")).drafts}
        assert drafts == {first: ("planner", "plan!", 2), second: ("critic", "critique", 1)}


class TestOwnership:
    async def test_only_the_starting_caller_may_touch_a_draft(self, live: Live, chat: str) -> None:
        """Another user or tenant finds no draft (as if it did not exist)."""
        draft_id = await start(live, chat)
        for other in (STRANGER, ELSEWHERE):
            assert (await live.drafts.append(draft_id, other, 1, "x", MAX_BYTES)).status == "not_found"
            assert (await live.drafts.begin_complete(draft_id, other)).status == "not_found"
            assert await live.drafts.abandon(draft_id, other, "no") == "not_found"

    async def test_starting_again_resumes_or_is_refused(self, live: Live, chat: str) -> None:
        """Same caller, chat and agent: how far it got; anything else: reused."""
        draft_id = await start(live, chat)
        await live.drafts.append(draft_id, AGENT, 1, "a", MAX_BYTES)
        again = await live.drafts.start(draft_id, AGENT, chat.removeprefix("thread:"), chat, "demo")
        assert (again.status, again.seq) == ("active", 1)
        other = await live.drafts.start(draft_id, AGENT, chat.removeprefix("thread:"), chat, "another-agent")
        assert other.status == "reused"
        assert (await live.drafts.start(draft_id, STRANGER, chat.removeprefix("thread:"), chat, "demo")).status == (
            "reused"
        )


class TestCompletion:
    async def test_completion_freezes_then_stores_one_answer(self, live: Live, chat: str) -> None:
        """While sending no delta is taken; finishing twice announces once; the answer is kept."""
        draft_id = await start(live, chat)
        await live.drafts.append(draft_id, AGENT, 1, "done", MAX_BYTES)
        sending = await live.drafts.begin_complete(draft_id, AGENT)
        assert (sending.status, sending.value, sending.threads_id) == ("sending", b"done", chat.removeprefix("thread:"))
        assert (await live.drafts.append(draft_id, AGENT, 2, "more", MAX_BYTES)).status == "ended"
        assert await live.drafts.finish_complete(draft_id, b"answer", "message-1", 7, 42)
        assert not await live.drafts.finish_complete(draft_id, b"answer", "message-1", 7, 42)
        stored = await live.drafts.begin_complete(draft_id, AGENT)
        assert (stored.status, stored.value) == ("completed", b"answer")
        completed = [s for s in await live.signals(chat) if s.case == "draft_completed"]
        assert [(chat_update(s).draft_completed.message_id, s.feed_head) for s in completed] == [("message-1", 42)]
        assert (await live.snapshots.read(chat, "acme")).drafts == []

    async def test_a_refused_message_reopens_the_draft(self, live: Live, chat: str) -> None:
        """reopen() makes a sending draft take deltas again."""
        draft_id = await start(live, chat)
        await live.drafts.append(draft_id, AGENT, 1, "a", MAX_BYTES)
        await live.drafts.begin_complete(draft_id, AGENT)
        await live.drafts.reopen(draft_id)
        assert (await live.drafts.append(draft_id, AGENT, 2, "b", MAX_BYTES)).seq == 2

    async def test_an_empty_draft_cannot_be_completed(self, live: Live, chat: str) -> None:
        """No text, no message."""
        draft_id = await start(live, chat)
        assert (await live.drafts.begin_complete(draft_id, AGENT)).status == "empty"


class TestEnding:
    async def test_abandon_is_announced_once(self, live: Live, chat: str) -> None:
        """Abandoning twice is fine; a completed draft cannot be abandoned."""
        draft_id = await start(live, chat)
        assert await live.drafts.abandon(draft_id, AGENT, "model failed") == "ok"
        assert await live.drafts.abandon(draft_id, AGENT, "again") == "ok"
        abandoned = [chat_update(s).draft_abandoned for s in await live.signals(chat) if s.case == "draft_abandoned"]
        assert [(a.reason, a.detail) for a in abandoned] == [(types.DraftAbandoned.REASON_ABANDONED, "model failed")]
        assert (await live.drafts.read(draft_id)).state == "abandoned"

    async def test_a_quiet_draft_expires_as_abandoned(self, live: Live, chat: str) -> None:
        """60 s after its last delta the sweeper abandons it (EXPIRED); a delta before that keeps it alive."""
        draft_id = await start(live, chat)
        live.clock.advance(50)
        await live.drafts.append(draft_id, AGENT, 1, "still here", MAX_BYTES)
        live.clock.advance(50)
        assert await live.sweeper.sweep() == 0
        live.clock.advance(11)
        assert await live.sweeper.sweep() == 1
        ended = await live.drafts.read(draft_id)
        assert (ended.state, ended.reason, ended.text) == ("abandoned", 2, "")
        assert (await live.drafts.append(draft_id, AGENT, 2, "late", MAX_BYTES)).status == "ended"
        assert chat_update((await live.signals(chat))[-1]).draft_abandoned.reason == types.DraftAbandoned.REASON_EXPIRED

    async def test_a_draft_lost_with_redis_reads_as_gone(self, live: Live, chat: str) -> None:
        """A draft whose keys are gone is gone for every caller (subscribers take it as expired)."""
        draft_id = await start(live, chat)
        await live.redis.delete(f"{live.prefix}draft:{draft_id}")
        assert (await live.drafts.read(draft_id)).state == ""
        assert (await live.drafts.append(draft_id, AGENT, 1, "x", MAX_BYTES)).status == "not_found"
