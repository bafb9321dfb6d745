"""Checks on an append that do not need the database (shared by every implementation)."""

from __future__ import annotations

from collections.abc import Sequence

from ameide_eventstore.events import ExpectedVersion, StreamAppend


def check_appends(appends: Sequence[StreamAppend]) -> Sequence[StreamAppend]:
    """Reject malformed appends (a programming error, not a conflict): raise ``ValueError``."""
    if not appends:
        raise ValueError("an append needs at least one stream")
    stream_ids = {item.stream_id for item in appends}
    if len(stream_ids) != len(appends):
        raise ValueError("a stream may appear only once per append")
    event_ids: set[object] = set()
    for item in appends:
        if not item.events:
            raise ValueError(f"stream {item.stream_id}: an append needs at least one event")
        if item.expected_version < ExpectedVersion.STREAM_EXISTS:
            raise ValueError(f"stream {item.stream_id}: invalid expected version {item.expected_version}")
        event_ids.update(event.event_id for event in item.events)
    if len(event_ids) != sum(len(item.events) for item in appends):
        raise ValueError("event ids must be unique within an append")
    return appends
