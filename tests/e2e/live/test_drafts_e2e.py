"""Drafts through the real deployables: subscribers see them grow and become one message, whatever the retries."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import grpc.aio
import pytest

from ameide_core_proto.live.v1 import live_service_pb2 as live
from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_query.live.limits import MessageLimits
from ameide_sdk import AmeideClient, LiveSignals, error_reason
from tests.e2e.live.conftest import CallerFactory
from tests.e2e.live.live_harness import Caller, case, draft_text
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

WORDS = [f"word{i} " for i in range(12)]


async def write(caller: Caller, draft_id: str, pieces: list[str], first_seq: int = 1) -> None:
    """Append ``pieces`` as deltas ``first_seq``, ``first_seq + 1``, ..."""
    for seq, piece in enumerate(pieces, start=first_seq):
        await caller.append(draft_id, seq, piece)


async def assert_refused(call: object, code: grpc.StatusCode, reason: str) -> None:
    """The awaited call fails with ``code`` and ErrorInfo ``reason``."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert (caught.value.code(), error_reason(caught.value)) == (code, reason)


class TestStreaming:
    async def test_a_subscriber_sees_the_draft_grow_then_become_the_message(
        self, callers: CallerFactory, tenant: str
    ) -> None:
        """started, every delta in order, the message, then draft_completed naming it; one message stored."""
        agent, reader = callers("alice", tenant), callers("bob", tenant)
        chat = await agent.chat()
        async with reader.follow(chat) as stream:
            draft_id = await agent.start(chat)
            await write(agent, draft_id, WORDS)
            completed = await agent.complete(draft_id)
            done = await stream.wait_for(case("draft_completed", draft_id=draft_id))
            assert done.draft_completed.message_id == completed.message_id
            message_at = next(i for i, u in enumerate(stream.updates) if u.WhichOneof("update") == "message")
            assert message_at < stream.updates.index(done)
            assert draft_text(stream, draft_id) == "".join(WORDS)
            assert stream.updates[message_at].message.idempotency_key == draft_id
        stored = await agent.messages(chat, completed.consistency_token)
        assert [(m.role, "".join(p.text.text for p in m.parts)) for m in stored] == [("assistant", "".join(WORDS))]

    async def test_joining_mid_draft_gets_the_text_so_far_then_the_rest(
        self, callers: CallerFactory, tenant: str
    ) -> None:
        """No gap, no repeat: draft_started holds deltas 1-5, the stream continues at 6."""
        agent, late = callers("alice", tenant), callers("bob", tenant)
        chat = await agent.chat()
        draft_id = await agent.start(chat)
        await write(agent, draft_id, WORDS[:5])
        async with late.follow(chat) as stream:
            started = (await stream.wait_for(case("draft_started"))).draft_started
            assert (started.text, started.seq) == ("".join(WORDS[:5]), 5)
            await write(agent, draft_id, WORDS[5:], first_seq=6)
            await stream.wait_for(case("draft_delta", seq=len(WORDS)))
            assert [d.seq for d in stream.of("draft_delta")] == list(range(6, len(WORDS) + 1))
            assert draft_text(stream, draft_id) == "".join(WORDS)
        await agent.complete(draft_id)

    async def test_a_resumed_stream_gets_the_draft_again(self, callers: CallerFactory, tenant: str) -> None:
        """Dropped mid-draft, resumed with its checkpoint token: the text so far, then the following deltas."""
        agent, reader = callers("alice", tenant), callers("bob", tenant)
        chat = await agent.chat()
        draft_id = await agent.start(chat)
        async with reader.follow(chat) as first:
            await write(agent, draft_id, WORDS[:4])
            await first.wait_for(case("draft_delta", seq=4))
            token = next(u.checkpoint_token for u in reversed(first.updates) if u.checkpoint_token)
        await write(agent, draft_id, WORDS[4:8], first_seq=5)  # while the subscriber is away
        async with reader.follow(chat, resume_token=token) as resumed:
            started = (await resumed.wait_for(case("draft_started"))).draft_started
            assert (started.text, started.seq) == ("".join(WORDS[:8]), 8)
            await write(agent, draft_id, WORDS[8:], first_seq=9)
            await resumed.wait_for(case("draft_delta", seq=len(WORDS)))
            assert draft_text(resumed, draft_id) == "".join(WORDS)
        await agent.complete(draft_id)

    async def test_two_agents_draft_in_one_chat(self, callers: CallerFactory, tenant: str) -> None:
        """Interleaved deltas of two drafts stay apart; each becomes its own message."""
        agent, reader = callers("alice", tenant), callers("bob", tenant)
        chat = await agent.chat()
        async with reader.follow(chat) as stream:
            planner, critic = await agent.start(chat, "planner"), await agent.start(chat, "critic")
            for seq in range(1, 6):
                await agent.append(planner, seq, f"p{seq} ")
                await agent.append(critic, seq, f"c{seq} ")
            first, second = await agent.complete(critic), await agent.complete(planner)
            await stream.wait_for(case("draft_completed", draft_id=planner))
            await stream.wait_for(case("draft_completed", draft_id=critic))
            assert draft_text(stream, planner) == "p1 p2 p3 p4 p5 "
            assert draft_text(stream, critic) == "c1 c2 c3 c4 c5 "
            agents = {s.draft_id: s.agent_id for s in stream.of("draft_started")}
            assert agents == {planner: "planner", critic: "critic"}
        stored = await agent.messages(chat, second.consistency_token)
        assert {m.id for m in stored} == {first.message_id, second.message_id}


class TestExactlyOnce:
    async def test_retried_and_concurrent_completions_store_one_message(
        self, callers: CallerFactory, tenant: str
    ) -> None:
        """Complete, complete again, and three at once: the same message every time, one in the chat."""
        agent = callers("alice", tenant)
        chat = await agent.chat()
        draft_id = await agent.start(chat)
        await write(agent, draft_id, WORDS)
        answers = await asyncio.gather(*(agent.complete(draft_id) for _ in range(3)))
        again = await agent.complete(draft_id)
        assert {a.message_id for a in [*answers, again]} == {again.message_id}
        stored = await agent.messages(chat, again.consistency_token)
        assert [m.id for m in stored] == [again.message_id]
        await assert_refused(agent.append(draft_id, 13, "late"), grpc.StatusCode.FAILED_PRECONDITION, "DRAFT_ENDED")

    async def test_a_restarted_agent_with_the_same_draft_id_writes_no_second_message(
        self, stack: Stack, tenant: str
    ) -> None:
        """An SDK agent run again with the same draft id after its completion gets the stored message, no second.

        (A crash after the completion was stored: the restarted agent derives the same draft id from its input.)
        """
        token = stack.token("alice", tenant)
        async with AmeideClient(stack.command_target, query_target=stack.query_target, token=token) as client:
            created = await client.threads_commands.CreateChat(_create(), timeout=30)
            chat = created.threads.id
            draft_id = str(uuid.uuid4())
            written = created.consistency_token
            async with client.stream_draft(
                chat, agent_id="demo", draft_id=draft_id, consistency_token=written
            ) as first:
                await first.append("the answer")
            async with client.stream_draft(chat, agent_id="demo", draft_id=draft_id) as retried:
                pass
            assert first.completed is not None
            assert retried.completed is not None
            assert retried.completed.message_id == first.completed.message_id
            page = await client.threads_queries.GetMessages(
                _messages(chat, first.completed.consistency_token), timeout=30
            )
            assert [m.id for m in page.messages] == [first.completed.message_id]


class TestLimitsAndAccess:
    async def test_a_one_mebibyte_draft_completes_as_one_message(self, callers: CallerFactory, tenant: str) -> None:
        """The largest draft one message holds streams and completes; one byte more is refused."""
        agent = callers("alice", tenant)
        chat = await agent.chat()
        biggest = MessageLimits(64, 64 * 1024, 1024 * 1024).max_draft_bytes()
        chunk = 64 * 1024
        text = ("Lorem ipsum dolor sit amet, " * (biggest // 28 + 1))[:biggest]
        draft_id = await agent.start(chat)
        await write(agent, draft_id, [text[i : i + chunk] for i in range(0, biggest, chunk)])
        await assert_refused(
            agent.append(draft_id, biggest // chunk + 2, "!"), grpc.StatusCode.INVALID_ARGUMENT, "DRAFT_TOO_LARGE"
        )
        completed = await agent.complete(draft_id)
        [stored] = await agent.messages(chat, completed.consistency_token)
        assert "".join(part.text.text for part in stored.parts) == text
        assert len(stored.parts) == -(-biggest // (64 * 1024))

    async def test_only_writers_draft_and_only_the_starter_continues(self, callers: CallerFactory, tenant: str) -> None:
        """A reader who may not send (another tenant's PUBLIC chat) gets NOT_FOUND; another user, no draft."""
        owner, colleague, outsider = callers("alice", tenant), callers("bob", tenant), callers("eve", "globex")
        public = await owner.chat(types.CHAT_VISIBILITY_PUBLIC)
        await assert_refused(outsider.start(public), grpc.StatusCode.NOT_FOUND, "CHAT_NOT_FOUND")
        draft_id = await owner.start(public)
        await assert_refused(colleague.append(draft_id, 1, "x"), grpc.StatusCode.NOT_FOUND, "DRAFT_NOT_FOUND")
        await assert_refused(colleague.complete(draft_id), grpc.StatusCode.NOT_FOUND, "DRAFT_NOT_FOUND")
        await assert_refused(
            owner.drafts.StartDraft(
                live.StartDraftRequest(draft_id=draft_id, threads_id=public, agent_id="another"),
                metadata=owner.metadata,
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "DRAFT_ID_REUSED",
        )
        await assert_refused(owner.append(draft_id, 3, "x"), grpc.StatusCode.FAILED_PRECONDITION, "DRAFT_SEQUENCE_GAP")
        await assert_refused(owner.complete(draft_id), grpc.StatusCode.FAILED_PRECONDITION, "DRAFT_EMPTY")

    async def test_a_deleted_chat_refuses_the_message_and_the_draft_stays_open(
        self, callers: CallerFactory, tenant: str
    ) -> None:
        """The command side's NOT_FOUND comes back as is; the agent may abandon the draft afterwards."""
        agent = callers("alice", tenant)
        chat = await agent.chat()
        draft_id = await agent.start(chat)
        await agent.append(draft_id, 1, "text")
        await agent.chats.DeleteChat(_delete(chat), metadata=agent.metadata)
        await assert_refused(agent.complete(draft_id), grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
        await agent.drafts.AbandonDraft(live.AbandonDraftRequest(draft_id=draft_id), metadata=agent.metadata)


class TestSdk:
    async def test_stream_draft_and_live_signals_end_to_end(self, stack: Stack, tenant: str) -> None:
        """An SDK agent writes; an SDK subscriber folds the signals into the growing draft, then the message."""
        agent = AmeideClient(stack.command_target, query_target=stack.query_target, token=stack.token("a", tenant))
        reader = AmeideClient(stack.command_target, query_target=stack.query_target, token=stack.token("b", tenant))
        async with agent, reader:
            created = await agent.threads_commands.CreateChat(_create())
            await agent.threads_queries.GetChat(
                chats.GetChatRequest(threads_id=created.threads.id, consistency_token=created.consistency_token)
            )
            signals, seen, ready = LiveSignals(), list[str](), asyncio.Event()

            async def watch() -> None:
                async for update in reader.subscribe_chat(created.threads.id, include_signals=True):
                    if signals.apply(update):
                        ready.set()  # the first signal is the snapshot: the subscription is live
                        seen.extend(draft.text for draft in signals.drafts.values())
                    if signals.completed:
                        return

            watching = asyncio.create_task(watch())
            await asyncio.wait_for(ready.wait(), 60)
            async with agent.stream_draft(created.threads.id, agent_id="demo") as draft:
                for word in WORDS[:4]:
                    await draft.append(word)
            await asyncio.wait_for(watching, 60)
            assert draft.completed is not None
            assert signals.completed == {draft.draft_id: draft.completed.message_id}
            assert "".join(WORDS[:4]) in seen


def _create() -> chats.CreateChatRequest:
    return chats.CreateChatRequest(title="sdk", visibility=types.CHAT_VISIBILITY_TEAM)


def _messages(chat_id: str, token: str) -> chats.GetMessagesRequest:
    return chats.GetMessagesRequest(threads_id=chat_id, consistency_token=token)


def _delete(chat_id: str) -> chats.DeleteChatRequest:
    return chats.DeleteChatRequest(threads_id=chat_id)
