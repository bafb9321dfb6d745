"""Live signals as a subscriber sees them: who is present, who is typing, and the drafts being written.

``subscribe_chat(..., include_signals=True)`` / ``subscribe_artifact(..., include_signals=True)`` yield, besides the
durable updates, these ``ChatUpdate`` / ``ArtifactUpdate`` cases (``update.WhichOneof("update")``), none of which
carries a checkpoint token:

=====================  ====================================  ====================================================
case                   value (``ameide_core_proto.live.v1``)  meaning
=====================  ====================================  ====================================================
``presence_snapshot``  ``PresenceSnapshot.participants``      start over: these are present; drop every draft
``presence_changed``   ``PresenceChange`` (kind, participant)  JOINED, LEFT, TYPING_STARTED, TYPING_STOPPED
``draft_started``      ``DraftStarted`` (id, agent, text, seq) a draft exists with this text so far (create/replace)
``draft_delta``        ``DraftDelta`` (id, seq, text)          append ``text``; ``seq`` is the previous one + 1
``draft_completed``    ``DraftCompleted`` (id, message_id)     the draft is now that message (already delivered)
``draft_abandoned``    ``DraftAbandoned`` (id, reason)         the draft ended without a message
=====================  ====================================  ====================================================

``LiveSignals`` folds them into plain values, so an application renders ``participants`` and ``drafts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ameide_core_proto.live.v1 import live_types_pb2

VIEWING = live_types_pb2.PRESENCE_STATE_VIEWING
TYPING = live_types_pb2.PRESENCE_STATE_TYPING
_LEFT = live_types_pb2.PresenceChange.KIND_LEFT


@dataclass(frozen=True, slots=True)
class Participant:
    """A user present on the chat or artifact (one entry however many tabs they have)."""

    user_id: str
    display_name: str
    typing: bool
    joined_at: datetime | None


@dataclass(frozen=True, slots=True)
class Draft:
    """An assistant message being written: ``text`` holds every delta up to ``seq``."""

    draft_id: str
    agent_id: str
    user_id: str
    text: str
    seq: int


class LiveSignals:
    """The live signals of one subscription, folded (feed it every update; it ignores the others).

    Example::

        from ameide_sdk import LiveSignals

        signals = LiveSignals()
        async for update in client.subscribe_chat(chat_id, include_signals=True):
            if signals.apply(update):
                render(signals.participants, signals.drafts)
    """

    def __init__(self) -> None:
        self.participants: dict[str, Participant] = {}
        self.drafts: dict[str, Draft] = {}
        self.completed: dict[str, str] = {}
        """Draft id -> the id of the message that replaced it (the message itself came as a ``message`` update)."""

    @property
    def typing(self) -> list[Participant]:
        """Who is typing now."""
        return [person for person in self.participants.values() if person.typing]

    def apply(self, update: Any) -> bool:  # noqa: ANN401 - a ChatUpdate or an ArtifactUpdate
        """Fold one update in; False when it is not a live signal (a message, a control message, ...)."""
        case = update.WhichOneof("update")
        if case == "presence_snapshot":
            self.participants = {p.user_id: _participant(p) for p in update.presence_snapshot.participants}
            self.drafts.clear()
        elif case == "presence_changed":
            person = update.presence_changed.participant
            if update.presence_changed.kind == _LEFT:
                self.participants.pop(person.user_id, None)
            else:
                self.participants[person.user_id] = _participant(person)
        elif case in {"draft_started", "draft_delta", "draft_completed", "draft_abandoned"}:
            self._draft(case, getattr(update, case))
        else:
            return False
        return True

    def _draft(self, case: str, value: Any) -> None:  # noqa: ANN401 - one of the four draft messages
        if case == "draft_started":
            self.drafts[value.draft_id] = Draft(value.draft_id, value.agent_id, value.user_id, value.text, value.seq)
            return
        if case == "draft_delta":
            draft = self.drafts.get(value.draft_id)
            if draft is not None and value.seq == draft.seq + 1:
                self.drafts[value.draft_id] = Draft(
                    draft.draft_id, draft.agent_id, draft.user_id, draft.text + value.text, value.seq
                )
            return
        self.drafts.pop(value.draft_id, None)
        if case == "draft_completed":
            self.completed[value.draft_id] = value.message_id


def _participant(value: live_types_pb2.Participant) -> Participant:
    joined = value.joined_at.ToDatetime() if value.HasField("joined_at") else None
    return Participant(value.user_id, value.display_name, value.state == TYPING, joined)
