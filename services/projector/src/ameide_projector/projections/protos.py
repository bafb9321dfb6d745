"""Wire messages built from read-model rows: the chat inside state updates, and the feed updates themselves."""

from __future__ import annotations

import datetime as dt

from google.protobuf.timestamp_pb2 import Timestamp

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art_svc
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat_svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_projector.projections.envelope import Envelope
from ameide_projector.projections.rows import ChatRow, Publish
from ameide_runtime.resume import artifact_feed, chat_feed

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def timestamp(value: dt.datetime) -> Timestamp:
    """A protobuf timestamp of an aware datetime (arithmetic, not ``FromDatetime``: this runs per row)."""
    delta = value - _EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def chat_message(row: ChatRow) -> types.Chat:
    """The Chat the query side would show for this row."""
    return types.Chat(
        id=str(row.id),
        title=row.title,
        user_id=row.owner,
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
        visibility=row.visibility,  # type: ignore[arg-type]
        metadata=types.ChatMetadata(labels=dict(row.labels), description=row.description, tags=list(row.tags)),
        tenant_id=row.tenant_id,
        agent_id=row.agent_id,
        message_count=row.message_count,
        last_activity_at=timestamp(row.last_activity_at),
        version=row.version,
    )


def _length_delimited(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:  # noqa: PLR2004 - seven bits per byte, the protobuf varint encoding
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def message_update(event: Envelope, message: bytes) -> Publish:
    """Publish ``ChatUpdate(message=..., timestamp=occurred_at)`` for an already serialized ChatMessage.

    Built from the message's bytes instead of copying the message into a ChatUpdate and serializing it again (the
    hot path: one per message). The bytes equal that serialization: fields in number order (1, then 5).
    """
    stamp = timestamp(event.occurred_at).SerializeToString()
    return Publish(
        feed_key=chat_feed(event.stream_key),
        tenant_id=event.tenant_id,
        update=_length_delimited(1, message) + _length_delimited(5, stamp),
        occurred_at=event.occurred_at,
    )


def chat_update(event: Envelope, update: chat_svc.ChatUpdate) -> Publish:
    """Publish ``update`` on the chat's feed, stamped with the event time."""
    update.timestamp.CopyFrom(timestamp(event.occurred_at))
    return Publish(
        feed_key=chat_feed(event.stream_key),
        tenant_id=event.tenant_id,
        update=update.SerializeToString(deterministic=True),
        occurred_at=event.occurred_at,
    )


def artifact_update(event: Envelope, update: art_svc.ArtifactUpdate, version: int) -> Publish:
    """Publish ``update`` on the artifact's feed, stamped with the event time and the artifact's version after it."""
    update.timestamp.CopyFrom(timestamp(event.occurred_at))
    update.version = version
    return Publish(
        feed_key=artifact_feed(event.stream_key),
        tenant_id=event.tenant_id,
        update=update.SerializeToString(deterministic=True),
        occurred_at=event.occurred_at,
    )
