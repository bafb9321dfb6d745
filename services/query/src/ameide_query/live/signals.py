"""Signal stream entries as the updates subscribers get: decoded once per entry, shared by every stream.

An entry's fields are written by the Lua scripts (``keys`` names them); its id's milliseconds are when Redis
appended it, which becomes the update's timestamp. Presence signals concern one tenant (``tenant_id``); a draft
signal is for every reader of the chat.
"""

from __future__ import annotations

from dataclasses import dataclass

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2
from ameide_core_proto.live.v1 import live_types_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2
from ameide_query.live import keys, streamids
from ameide_query.live.streamids import StreamId

Update = threads_service_pb2.ChatUpdate | artifacts_service_pb2.ArtifactUpdate
Fields = dict[bytes, bytes]


@dataclass(frozen=True, slots=True)
class Signal:
    """One decoded signal. ``update`` is ready to send (no checkpoint token) and must not be mutated."""

    entry_id: StreamId
    case: str
    update: Update
    tenant_id: str = ""
    draft_id: str = ""
    seq: int = 0
    feed_head: int = 0


def update_type(feed_key: str) -> type[Update]:
    """ChatUpdate for a chat's feed, ArtifactUpdate for an artifact's."""
    return threads_service_pb2.ChatUpdate if feed_key.startswith("thread:") else artifacts_service_pb2.ArtifactUpdate


def new_update(feed_key: str, millis: int) -> Update:
    """An empty update of the feed's type stamped at ``millis``."""
    update = update_type(feed_key)()
    update.timestamp.FromMilliseconds(millis)
    return update


def decode(feed_key: str, raw_id: bytes | str, fields: Fields) -> Signal | None:
    """The signal of a stream entry; None for an entry of an unknown kind (a newer writer's)."""
    entry_id = streamids.parse(raw_id)
    update = new_update(feed_key, entry_id[0])
    kind = fields.get(keys.KIND)
    if kind == keys.PRESENCE_CHANGED:
        change = update.presence_changed
        change.kind = int(fields[keys.CHANGE])  # type: ignore[assignment]
        change.expired = fields.get(keys.EXPIRED) == b"1"
        fill_participant(
            change.participant, _str(fields[keys.USER]), int(fields[keys.STATE]), _str(fields.get(keys.NAME, b"")),
            int(fields.get(keys.JOINED, b"0")),
        )  # fmt: skip
        return Signal(entry_id, "presence_changed", update, tenant_id=_str(fields[keys.TENANT]))
    if not isinstance(update, threads_service_pb2.ChatUpdate):
        return None
    return _draft_signal(feed_key, entry_id, kind, update, fields)


def _draft_signal(
    feed_key: str, entry_id: StreamId, kind: bytes | None, update: threads_service_pb2.ChatUpdate, fields: Fields
) -> Signal | None:
    draft_id = _str(fields[keys.DRAFT])
    if kind == keys.DRAFT_STARTED:
        started = update.draft_started
        started.draft_id = draft_id
        started.threads_id = feed_key.removeprefix("thread:")
        started.agent_id = _str(fields[keys.AGENT])
        started.user_id = _str(fields[keys.USER])
        started.started_at.FromMilliseconds(int(fields[keys.JOINED]))
        return Signal(entry_id, "draft_started", update, draft_id=draft_id)
    if kind == keys.DRAFT_DELTA:
        seq = int(fields[keys.SEQ])
        update.draft_delta.draft_id = draft_id
        update.draft_delta.seq = seq
        update.draft_delta.text = _str(fields[keys.TEXT])
        return Signal(entry_id, "draft_delta", update, draft_id=draft_id, seq=seq)
    if kind == keys.DRAFT_COMPLETED:
        completed = update.draft_completed
        completed.draft_id = draft_id
        completed.message_id = _str(fields[keys.MESSAGE])
        completed.message_sequence = int(fields[keys.MESSAGE_SEQUENCE])
        return Signal(entry_id, "draft_completed", update, draft_id=draft_id, feed_head=int(fields[keys.HEAD]))
    if kind == keys.DRAFT_ABANDONED:
        abandoned = update.draft_abandoned
        abandoned.draft_id = draft_id
        abandoned.reason = int(fields[keys.REASON])  # type: ignore[assignment]
        abandoned.detail = _str(fields.get(keys.DETAIL, b""))
        return Signal(entry_id, "draft_abandoned", update, draft_id=draft_id)
    return None


def fill_participant(
    target: live_types_pb2.Participant, user_id: str, state: int, display_name: str, joined_ms: int
) -> live_types_pb2.Participant:
    """``target`` filled in (and returned)."""
    target.user_id = user_id
    target.state = state  # type: ignore[assignment]
    target.display_name = display_name
    if joined_ms:
        target.joined_at.FromMilliseconds(joined_ms)
    return target


def _str(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
