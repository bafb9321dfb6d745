"""The SDK's live signals: the agent's draft writer, the presence heartbeat, and the subscriber's fold."""

from __future__ import annotations

import asyncio
import uuid

import grpc.aio
import pytest

from ameide_core_proto.live.v1 import live_types_pb2 as types
from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_sdk import AmeideClient, LiveSignals, error_reason
from tests.unit.sdk.fakes import FakeServer

pytestmark = pytest.mark.unit

CHAT = str(uuid.uuid4())


class TestDraftWriter:
    async def test_leaving_the_block_completes_with_every_delta(self, client: AmeideClient, server: FakeServer) -> None:
        """The deltas arrive numbered and in order; the completion answer is kept; credentials travel."""
        async with client.stream_draft(CHAT, agent_id="demo") as draft:
            for piece in ("Hel", "lo", "", " there"):
                await draft.append(piece)
        assert draft.completed is not None
        assert server.drafts.text[draft.draft_id] == "Hello there"
        assert (draft.seq, server.drafts.last[draft.draft_id]) == (3, 3)
        assert draft.completed == server.drafts.answers[draft.draft_id]
        assert {entry["authorization"] for entry in server.drafts.metadata} == {"Bearer tok-1"}

    async def test_an_exception_abandons_and_propagates(self, client: AmeideClient, server: FakeServer) -> None:
        """The agent's failure reaches the caller; subscribers are told the draft was abandoned."""
        writer = client.stream_draft(CHAT, agent_id="demo")

        async def fail_mid_draft() -> None:
            async with writer as draft:
                await draft.append("partial")
                raise RuntimeError("model down")

        with pytest.raises(RuntimeError, match="model down"):
            await fail_mid_draft()
        draft = writer
        assert server.drafts.ended[draft.draft_id] == "abandoned"
        assert draft.abandoned

    async def test_a_broken_stream_is_reopened_and_nothing_lost(self, client: AmeideClient, server: FakeServer) -> None:
        """UNAVAILABLE mid-way: the next stream re-sends start and every delta; each applies once."""
        server.drafts.breaks = [3, 2]
        async with client.stream_draft(CHAT, agent_id="demo") as draft:
            for piece in ("a", "b", "c", "d", "e"):
                await draft.append(piece)
        assert server.drafts.text[draft.draft_id] == "abcde"
        assert server.drafts.connections >= 2

    async def test_a_lost_completion_answer_is_fetched_not_resent(
        self, client: AmeideClient, server: FakeServer
    ) -> None:
        """The complete arrived (the draft ended) but its answer was lost: the stored answer is fetched."""
        server.drafts.lost_answers = 1
        async with client.stream_draft(CHAT, agent_id="demo") as draft:
            await draft.append("x")
        assert draft.completed == server.drafts.answers[draft.draft_id]
        assert len(server.drafts.answers) == 1

    async def test_a_draft_completed_before_is_not_written_again(
        self, client: AmeideClient, server: FakeServer
    ) -> None:
        """A restarted agent reusing its draft id gets the stored message at once; its appends send nothing."""
        async with client.stream_draft(CHAT, agent_id="demo") as first:
            await first.append("answer")
        connections = server.drafts.connections
        async with client.stream_draft(CHAT, agent_id="demo", draft_id=first.draft_id) as again:
            assert again.completed == first.completed
            await again.append("regenerated")
        assert server.drafts.connections == connections
        assert server.drafts.text[first.draft_id] == "answer"

    async def test_an_abandoned_draft_id_cannot_be_reused(self, client: AmeideClient, server: FakeServer) -> None:
        """DRAFT_ENDED on entering: the agent must use a new draft id."""
        draft_id = str(uuid.uuid4())
        server.drafts.ended[draft_id] = "abandoned"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async with client.stream_draft(CHAT, agent_id="demo", draft_id=draft_id):
                pass
        assert error_reason(caught.value) == "DRAFT_ENDED"

    def test_arguments_are_checked_before_calling(self, client: AmeideClient) -> None:
        """A bad chat id or an empty agent id fails at once."""
        with pytest.raises(ValueError, match="threads_id"):
            client.stream_draft("not-a-uuid", agent_id="demo")
        with pytest.raises(ValueError, match="agent_id"):
            client.stream_draft(CHAT, agent_id=" ")


class TestPresenceHeartbeat:
    async def test_announces_renews_and_leaves(self, client: AmeideClient, server: FakeServer) -> None:
        """Viewing at once, renewed at the server's pace, typing when told, one leave at the end."""
        async with client.presence_heartbeat(threads_id=CHAT, display_name="Ada") as presence:
            await presence.typing()
            await presence.typing()  # throttled: one announcement for both
            async with asyncio.timeout(10):
                while len(server.presence.announced) < 4:  # noqa: ASYNC110 - the heartbeat task's calls, bounded
                    await asyncio.sleep(0.01)
            await presence.viewing()
        states = [request.state for request in server.presence.announced]
        assert states[:2] == [types.PRESENCE_STATE_VIEWING, types.PRESENCE_STATE_TYPING]
        assert states[-1] == types.PRESENCE_STATE_VIEWING
        assert {request.client_id for request in server.presence.announced} == {presence.client_id}
        assert [(request.threads_id, request.client_id) for request in server.presence.left] == [
            (CHAT, presence.client_id)
        ]
        assert server.presence.announced[0].display_name == "Ada"

    def test_exactly_one_resource(self, client: AmeideClient) -> None:
        """A chat or an artifact, not both, not neither."""
        with pytest.raises(ValueError, match="exactly one"):
            client.presence_heartbeat()
        with pytest.raises(ValueError, match="exactly one"):
            client.presence_heartbeat(threads_id=CHAT, artifact_id=CHAT)


def _update(**case: object) -> chats.ChatUpdate:
    return chats.ChatUpdate(**case)  # type: ignore[arg-type]


class TestLiveSignals:
    def test_folds_presence_and_drafts(self) -> None:
        """Snapshot, changes and draft growth become plain values; other updates are not signals."""
        signals = LiveSignals()
        alice = types.Participant(user_id="alice", display_name="Alice", state=types.PRESENCE_STATE_VIEWING)
        assert signals.apply(_update(presence_snapshot=types.PresenceSnapshot(participants=[alice])))
        typing = types.Participant(user_id="bob", state=types.PRESENCE_STATE_TYPING)
        signals.apply(_update(presence_changed=types.PresenceChange(kind=types.PresenceChange.KIND_JOINED,
                                                                    participant=typing)))  # fmt: skip
        assert [person.user_id for person in signals.typing] == ["bob"]
        signals.apply(_update(draft_started=types.DraftStarted(draft_id="d", agent_id="demo", text="He", seq=1)))
        signals.apply(_update(draft_delta=types.DraftDelta(draft_id="d", seq=2, text="llo")))
        signals.apply(_update(draft_delta=types.DraftDelta(draft_id="d", seq=2, text="llo")))  # a repeat: ignored
        assert (signals.drafts["d"].text, signals.drafts["d"].seq) == ("Hello", 2)
        signals.apply(_update(draft_completed=types.DraftCompleted(draft_id="d", message_id="m")))
        assert signals.drafts == {}
        assert signals.completed == {"d": "m"}
        left = types.PresenceChange(kind=types.PresenceChange.KIND_LEFT, participant=typing)
        signals.apply(_update(presence_changed=left))
        assert list(signals.participants) == ["alice"]
        assert not signals.apply(_update(message={"id": "m"}))

    def test_a_snapshot_starts_over(self) -> None:
        """After a reconnect the snapshot replaces participants and drops drafts (open ones follow again)."""
        signals = LiveSignals()
        signals.apply(_update(draft_started=types.DraftStarted(draft_id="d", text="x", seq=1)))
        signals.apply(_update(presence_snapshot=types.PresenceSnapshot()))
        assert (signals.drafts, signals.participants) == ({}, {})
