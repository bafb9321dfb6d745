"""What one subscriber is told about presence and drafts: filtering, draft holes, completions after their message."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from ameide_core_proto.live.v1 import live_types_pb2 as types
from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_query.live.drafts import DraftState
from ameide_query.live.signals import Signal, new_update
from ameide_query.live.snapshots import OpenDraft, Snapshot
from ameide_query.live.streamids import StreamId
from ameide_query.streams.live_view import LiveView

pytestmark = pytest.mark.unit

FEED = f"thread:{uuid.uuid4()}"
Kind = types.PresenceChange


class Fakes:
    """A snapshot and drafts the view reads."""

    def __init__(self) -> None:
        self.snapshot = Snapshot("epoch-1", (100, 0))
        self.drafts: dict[str, DraftState] = {}
        self.reads = 0

    async def read(self, key: str, tenant_id: str = "", *, with_drafts: bool = True) -> Snapshot | DraftState:
        """Snapshots (feed, tenant) and drafts (draft id) share the name, as the two readers do."""
        del tenant_id, with_drafts
        if key == FEED:
            return self.snapshot
        self.reads += 1
        return self.drafts.get(key, DraftState("", "", "", 0, 0, "", "", 0, 0, 0))


def view(fakes: Fakes) -> LiveView:
    """The view of a chat stream of tenant acme."""
    return LiveView(feed_key=FEED, tenant_id="acme", is_chat=True, snapshots=fakes, drafts=fakes)  # type: ignore[arg-type]


def presence(at: StreamId, user: str, kind: int, state: int, tenant: str = "acme") -> Signal:
    """A presence signal."""
    update = new_update(FEED, at[0])
    update.presence_changed.kind = kind  # type: ignore[assignment]
    update.presence_changed.participant.user_id = user
    update.presence_changed.participant.state = state  # type: ignore[assignment]
    return Signal(at, "presence_changed", update, tenant_id=tenant)


def draft(at: StreamId, case: str, draft_id: str, seq: int = 0, text: str = "", *, head: int = 0) -> Signal:
    """A draft signal."""
    update = new_update(FEED, at[0])
    value = getattr(update, case)
    value.draft_id = draft_id
    if case == "draft_delta":
        value.seq, value.text = seq, text
    if case == "draft_completed":
        value.message_id, value.message_sequence = "m-1", 9
    return Signal(at, case, update, draft_id=draft_id, seq=seq, feed_head=head)


def cases(updates: Sequence[Any]) -> list[str]:
    """The case of each update."""
    return [str(update.WhichOneof("update")) for update in updates]


class TestStart:
    async def test_starts_with_the_snapshot_and_each_open_draft(self) -> None:
        """presence_snapshot first (replace), then a draft_started with the text so far."""
        fakes = Fakes()
        alice = types.Participant(user_id="alice", state=types.PRESENCE_STATE_TYPING)
        fakes.snapshot = Snapshot("e", (100, 0), [alice], [OpenDraft("d1", "demo", "u", 5, 3, "abc")])
        updates: list[Any] = await view(fakes).start_over()
        assert cases(updates) == ["presence_snapshot", "draft_started"]
        assert [p.user_id for p in updates[0].presence_snapshot.participants] == ["alice"]
        started = updates[1].draft_started
        assert (started.text, started.seq, started.threads_id) == ("abc", 3, FEED.removeprefix("thread:"))
        assert not updates[1].checkpoint_token

    async def test_signals_the_snapshot_holds_are_skipped(self) -> None:
        """A signal at or before the snapshot's last id is already in it."""
        live = view(Fakes())
        await live.start_over()
        assert await live.on_signal(presence((100, 0), "bob", Kind.KIND_JOINED, 1), 0) == []
        assert cases(await live.on_signal(presence((100, 1), "bob", Kind.KIND_JOINED, 1), 0)) == ["presence_changed"]


class TestPresence:
    async def test_other_tenants_stay_invisible(self) -> None:
        """A PUBLIC chat's readers of another tenant are never revealed."""
        live = view(Fakes())
        await live.start_over()
        assert await live.on_signal(presence((101, 0), "eve", Kind.KIND_JOINED, 1, tenant="globex"), 0) == []

    async def test_changes_that_change_nothing_shown_are_dropped(self) -> None:
        """A repeated JOINED, a LEFT of someone not shown: nothing for the client."""
        live = view(Fakes())
        await live.start_over()
        assert cases(await live.on_signal(presence((101, 0), "bob", Kind.KIND_JOINED, 1), 0)) == ["presence_changed"]
        assert await live.on_signal(presence((102, 0), "bob", Kind.KIND_JOINED, 1), 0) == []
        assert cases(await live.on_signal(presence((103, 0), "bob", Kind.KIND_TYPING_STARTED, 2), 0)) == [
            "presence_changed"
        ]
        assert cases(await live.on_signal(presence((104, 0), "bob", Kind.KIND_LEFT, 2), 0)) == ["presence_changed"]
        assert await live.on_signal(presence((105, 0), "bob", Kind.KIND_LEFT, 2), 0) == []


class TestDrafts:
    async def test_deltas_follow_without_gap_or_repeat(self) -> None:
        """Started, then deltas 1, 2; a repeated 2 is dropped."""
        live = view(Fakes())
        await live.start_over()
        sent: list[Any] = []
        for at, signal in enumerate(
            [draft((0, 0), "draft_started", "d"), draft((0, 0), "draft_delta", "d", 1, "a"),
             draft((0, 0), "draft_delta", "d", 2, "b"), draft((0, 0), "draft_delta", "d", 2, "b")],
            start=101,
        ):  # fmt: skip
            sent += await live.on_signal(Signal((at, 0), signal.case, signal.update, draft_id="d", seq=signal.seq), 0)
        assert [(u.WhichOneof("update"), u.draft_delta.seq) for u in sent] == [
            ("draft_started", 0), ("draft_delta", 1), ("draft_delta", 2)
        ]  # fmt: skip

    async def test_a_hole_is_filled_by_reading_the_draft(self) -> None:
        """A delta that skips ahead (lost signals) is answered by the draft as it is now, as a draft_started."""
        fakes = Fakes()
        fakes.snapshot = Snapshot("e", (100, 0), [], [OpenDraft("d", "demo", "u", 5, 1, "a")])
        fakes.drafts["d"] = DraftState("active", "demo", "u", 5, 4, "abcd", "", 0, 0, 0)
        live = view(fakes)
        await live.start_over()
        resync: Any = (await live.on_signal(draft((101, 0), "draft_delta", "d", 4, "d"), 0))[0]
        assert (resync.draft_started.text, resync.draft_started.seq) == ("abcd", 4)
        assert await live.on_signal(draft((102, 0), "draft_delta", "d", 4, "d"), 0) == []
        assert cases(await live.on_signal(draft((103, 0), "draft_delta", "d", 5, "e"), 0)) == ["draft_delta"]

    async def test_a_completion_waits_for_its_message(self) -> None:
        """Held until the subscriber was sent the feed up to the completion's head, then released."""
        live = view(Fakes())
        await live.start_over()
        await live.on_signal(draft((101, 0), "draft_started", "d"), 0)
        assert await live.on_signal(draft((102, 0), "draft_completed", "d", head=7), 6) == []
        assert cases(live.after_durable(chats.ChatUpdate(), 6)) == []
        assert cases(live.after_durable(chats.ChatUpdate(), 7)) == ["draft_completed"]
        assert cases(live.after_durable(chats.ChatUpdate(), 8)) == []

    async def test_the_replacing_message_completes_the_draft_at_once(self) -> None:
        """A message whose idempotency key is a shown draft's id: draft_completed right after it, once."""
        live = view(Fakes())
        await live.start_over()
        await live.on_signal(draft((101, 0), "draft_started", "d"), 0)
        message = chats.ChatUpdate()
        message.message.id, message.message.idempotency_key, message.message.sequence = "m-7", "d", 7
        updates: list[Any] = live.after_durable(message, 5)
        [completed] = updates
        assert (completed.draft_completed.draft_id, completed.draft_completed.message_id) == ("d", "m-7")
        assert await live.on_signal(draft((102, 0), "draft_completed", "d", head=5), 5) == []

    async def test_a_vanished_draft_is_told_as_expired(self) -> None:
        """A hole in a draft Redis no longer has (lost with its data): abandoned, EXPIRED."""
        fakes = Fakes()
        fakes.snapshot = Snapshot("e", (100, 0), [], [OpenDraft("d", "demo", "u", 5, 1, "a")])
        live = view(fakes)
        await live.start_over()
        updates: list[Any] = await live.on_signal(draft((101, 0), "draft_delta", "d", 3, "c"), 0)
        [ended] = updates
        assert ended.draft_abandoned.reason == types.DraftAbandoned.REASON_EXPIRED

    async def test_endings_of_unknown_drafts_are_dropped(self) -> None:
        """A completion or abandonment of a draft the client never saw tells it nothing."""
        live = view(Fakes())
        await live.start_over()
        assert await live.on_signal(draft((101, 0), "draft_completed", "x"), 0) == []
        assert await live.on_signal(draft((102, 0), "draft_abandoned", "x"), 0) == []
