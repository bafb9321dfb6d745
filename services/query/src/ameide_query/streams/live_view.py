"""What one subscriber has been told about presence and drafts, and what it is told next (``include_signals``).

It starts from a snapshot read after the subscriber was registered with the live reader, so every signal the
reader hands over is either in the snapshot (its stream id is not above the snapshot's) or a change to it. The view
then filters what would not change what the client shows (a JOINED for someone shown in that state, a delta already
applied), fills a hole in a draft by reading the draft afresh (sent as a DraftStarted, which replaces), and holds a
DraftCompleted until the subscriber has been sent the message that replaces the draft: the completion names the
feed head at or after which that message sits. A chat message whose idempotency key is a shown draft's id completes
that draft at once (the agent's completion may still be on its way). When the view cannot trust what it has (its
queue overflowed, Redis lost its data or came back), it starts over with a new snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ameide_core_proto.live.v1 import live_types_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2
from ameide_query.live import streamids
from ameide_query.live.drafts import DraftState
from ameide_query.live.signals import Signal, Update, new_update
from ameide_query.live.snapshots import OpenDraft, Snapshot
from ameide_query.live.streamids import StreamId

Change = live_types_pb2.PresenceChange


class SnapshotReader(Protocol):
    """Reads snapshots (``ameide_query.live.snapshots.Snapshots``)."""

    async def read(self, feed_key: str, tenant_id: str, *, with_drafts: bool = True) -> Snapshot:
        """The snapshot of a resource for a caller of ``tenant_id``."""


class DraftReader(Protocol):
    """Reads one draft (``ameide_query.live.drafts.DraftStore``)."""

    async def read(self, draft_id: str) -> DraftState:
        """The draft's current state."""


@dataclass(slots=True)
class _Held:
    """A completion waiting until the subscriber has the message (``head``: the feed position to reach)."""

    update: Update
    head: int


class LiveView:
    """The signals of one stream."""

    def __init__(
        self, *, feed_key: str, tenant_id: str, is_chat: bool, snapshots: SnapshotReader, drafts: DraftReader
    ) -> None:
        self._feed = feed_key
        self._tenant = tenant_id
        self._is_chat = is_chat
        self._snapshots = snapshots
        self._drafts = drafts
        self.epoch: str | None = None
        self._after: StreamId = streamids.ZERO
        self._people: dict[str, int] = {}
        self._shown: dict[str, int] = {}
        self._held: dict[str, _Held] = {}
        self.started = False

    async def start_over(self) -> list[Update]:
        """A snapshot, as the updates that replace whatever the client showed."""
        snapshot = await self._snapshots.read(self._feed, self._tenant, with_drafts=self._is_chat)
        return self._restate(snapshot)

    def _restate(self, snapshot: Snapshot) -> list[Update]:
        self.started = True
        self.epoch = snapshot.epoch
        self._after = snapshot.last_id
        self._people = {p.user_id: int(p.state) for p in snapshot.participants}
        self._shown = {draft.draft_id: draft.seq for draft in snapshot.drafts}
        self._held.clear()
        first = self._new()
        first.presence_snapshot.participants.extend(snapshot.participants)
        return [first, *(self._started(draft) for draft in snapshot.drafts)]

    def _started(self, draft: OpenDraft) -> Update:
        """A draft as it is now, as a draft_started (which replaces what the client shows of it)."""
        update = self._new()
        started = update.draft_started  # type: ignore[union-attr]
        started.draft_id, started.threads_id = draft.draft_id, self._feed.removeprefix("thread:")
        started.agent_id, started.user_id = draft.agent_id, draft.user_id
        started.started_at.FromMilliseconds(draft.started_ms)
        started.text, started.seq = draft.text, draft.seq
        return update

    def _new(self) -> Update:
        return new_update(self._feed, int(time.time() * 1000))

    async def on_signal(self, signal: Signal, delivered: int) -> list[Update]:
        """The updates a signal makes (none when it changes nothing the client shows)."""
        if signal.entry_id <= self._after:
            return []
        self._after = signal.entry_id
        if signal.case == "presence_changed":
            return self._presence(signal)
        return await self._draft(signal, delivered)

    async def _draft(self, signal: Signal, delivered: int) -> list[Update]:
        shown = self._shown.get(signal.draft_id)
        if signal.case == "draft_started":
            if shown is None:
                self._shown[signal.draft_id] = 0
                return [signal.update]
        elif signal.case == "draft_delta":
            if shown is None or signal.seq > shown + 1:
                return await self._reread(signal.draft_id, delivered)
            if signal.seq == shown + 1:
                self._shown[signal.draft_id] = signal.seq
                return [signal.update]
        elif shown is not None and signal.case == "draft_completed":
            return self._complete(signal.draft_id, signal.update, signal.feed_head, delivered)
        elif shown is not None:
            self._forget(signal.draft_id)
            return [signal.update]
        return []

    def _presence(self, signal: Signal) -> list[Update]:
        if signal.tenant_id != self._tenant:
            return []  # presence is per tenant: another tenant's readers stay invisible
        change = signal.update.presence_changed
        user, state = change.participant.user_id, int(change.participant.state)
        if change.kind == Change.KIND_LEFT:
            return [signal.update] if self._people.pop(user, None) is not None else []
        if self._people.get(user) == state:
            return []
        self._people[user] = state
        return [signal.update]

    async def _reread(self, draft_id: str, delivered: int) -> list[Update]:
        """A delta that does not follow what the client has: send the draft as it is now (or how it ended)."""
        state = await self._drafts.read(draft_id)
        if state.state in {"active", "completing"}:
            self._shown[draft_id] = state.seq
            return [self._started(OpenDraft(draft_id, state.agent_id, state.user_id, state.started_ms, state.seq,
                                            state.text))]  # fmt: skip
        return self._ended(draft_id, state, delivered)

    def _ended(self, draft_id: str, state: DraftState, delivered: int) -> list[Update]:
        """How a draft the client shows ended (a draft gone without a trace was lost: expired)."""
        if draft_id not in self._shown:
            return []
        update = self._new()
        if state.state == "completed":
            completed = update.draft_completed  # type: ignore[union-attr]
            completed.draft_id, completed.message_id = draft_id, state.message_id
            completed.message_sequence = state.message_sequence
            return self._complete(draft_id, update, state.feed_head, delivered)
        abandoned = update.draft_abandoned  # type: ignore[union-attr]
        abandoned.draft_id = draft_id
        abandoned.reason = state.reason or live_types_pb2.DraftAbandoned.REASON_EXPIRED
        self._forget(draft_id)
        return [update]

    def _complete(self, draft_id: str, update: Update, head: int, delivered: int) -> list[Update]:
        if head and delivered < head:
            self._held[draft_id] = _Held(update, head)
            return []
        self._forget(draft_id)
        return [update]

    def _forget(self, draft_id: str) -> None:
        self._shown.pop(draft_id, None)
        self._held.pop(draft_id, None)

    def after_durable(self, update: Update, delivered: int) -> list[Update]:
        """What follows a durable update just sent (``delivered``: its feed position)."""
        if not self._shown:
            return []
        released: list[Update] = []
        if isinstance(update, threads_service_pb2.ChatUpdate) and update.WhichOneof("update") == "message":
            draft_id = update.message.idempotency_key
            if draft_id in self._shown:
                completion = self._new()
                completed = completion.draft_completed  # type: ignore[union-attr]
                completed.draft_id, completed.message_id = draft_id, update.message.id
                completed.message_sequence = update.message.sequence
                self._forget(draft_id)
                released.append(completion)
        released.extend(self.release(delivered))
        return released

    def release(self, delivered: int) -> Iterable[Update]:
        """Held completions whose message the subscriber now has."""
        ready = [draft_id for draft_id, held in self._held.items() if held.head <= delivered]
        out = []
        for draft_id in ready:
            out.append(self._held[draft_id].update)
            self._forget(draft_id)
        return out
