"""What the importer intends a stream to hold: its events in order, each traced to the legacy row it imports."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Literal

from google.protobuf.message import Message

from ameide_cli.legacy import ids

StreamType = Literal["chat", "artifact"]
CHAT_LINKS = "links (chat side)"
ARTIFACT_LINKS = "links (artifact side)"


@dataclass(slots=True)
class Planned:
    """One event to store.

    Attributes:
        event_id: Deterministic id (``ids.event_id``) from the legacy row and the event kind.
        payload: The event message; a message's ``sequence`` is set from the stream state when appended.
        at: When it happened (the legacy ``createdAt``).
        user_id: Who did it (the legacy owner/author id).
        table: The legacy table (or link side) whose row this event imports, for the report.
        key: The row's key, for the report.
    """

    event_id: uuid.UUID
    payload: Message
    at: dt.datetime
    user_id: str
    table: str
    key: str

    def metadata(self, tenant_id: str) -> dict[str, str]:
        """The stored event metadata."""
        return ids.metadata(user_id=self.user_id, tenant_id=tenant_id, at=self.at, source=self.key)


@dataclass(slots=True)
class StreamPlan:
    """Every event one chat or artifact stream should hold, in order (what a full run computes)."""

    stream_id: uuid.UUID
    stream_type: StreamType
    events: list[Planned] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Number of planned events (the stream's version once fully imported)."""
        return len(self.events)
