"""The feed updates a projection publishes, as serialized ChatUpdate / ArtifactUpdate messages."""

from __future__ import annotations

import datetime as dt

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art_svc
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat_svc
from ameide_projector.projections.effects import Publish
from ameide_projector.projections.envelope import Envelope
from ameide_readmodel.chats import ChatRow
from ameide_readmodel.feed.names import artifact_feed, chat_feed
from ameide_readmodel.links import LinkRow
from ameide_readmodel.timestamps import EPOCH, timestamp

# Field keys (number << 3 | wire type) of what message_update assembles: ChatUpdate.message (1) and .timestamp (5)
# are length-delimited, Timestamp.seconds (1) and .nanos (2) varints. All below 128, so each is one byte.
_KEY_MESSAGE = b"\x0a"
_KEY_TIMESTAMP = b"\x2a"
_KEY_SECONDS = b"\x08"
_KEY_NANOS = b"\x10"
_ONE_BYTE = 0x80


def _varint(value: int) -> bytes:
    """The protobuf varint of a non-negative int."""
    if value < _ONE_BYTE:
        return bytes((value,))
    out = bytearray()
    while value >= _ONE_BYTE:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _timestamp_bytes(value: dt.datetime) -> bytes:
    """``timestamp(value).SerializeToString()`` without building the message (zero fields are omitted)."""
    delta = value - EPOCH
    seconds = delta.days * 86_400 + delta.seconds
    if seconds < 0:  # negative seconds are ten-byte two's complement varints: leave those to protobuf
        return timestamp(value).SerializeToString()
    nanos = delta.microseconds * 1000
    stamp = _KEY_SECONDS + _varint(seconds) if seconds else b""
    return stamp + _KEY_NANOS + _varint(nanos) if nanos else stamp


def message_update(event: Envelope, message: bytes) -> Publish:
    """Publish ``ChatUpdate(message=..., timestamp=occurred_at)`` for an already serialized ChatMessage.

    Built from the message's bytes instead of copying the message into a ChatUpdate and serializing it again (the
    hot path: one per message). The bytes equal that serialization: fields in number order (1, then 5).
    """
    stamp = _timestamp_bytes(event.occurred_at)
    return Publish(
        feed_key=chat_feed(event.stream_key),
        tenant_id=event.tenant_id,
        update=b"".join((_KEY_MESSAGE, _varint(len(message)), message, _KEY_TIMESTAMP, _varint(len(stamp)), stamp)),
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


def artifact_update(
    event: Envelope, update: art_svc.ArtifactUpdate, version: int, *, chat_visibility_before: int = 0
) -> Publish:
    """Publish ``update`` on the artifact's feed, stamped with the event time and the artifact's version after it."""
    return _on_artifact_feed(
        event.stream_key,
        event.tenant_id,
        event.occurred_at,
        update,
        version=version,
        visibility_before=chat_visibility_before,
    )


def chat_reference_update(
    link: LinkRow, chat: ChatRow, *, version: int, visibility_before: int, occurred_at: dt.datetime
) -> Publish:
    """Publish on a linked artifact's feed how it now shows ``chat``.

    ``threads_removed`` once the chat is deleted, else ``threads_added`` with its current reference (for a chat
    the artifact shows already, an update of it). The query service decides per subscriber what each receives.
    """
    if chat.deleted:
        update = art_svc.ArtifactUpdate(threads_removed=art_types.ChatReferenceRemoved(threads_id=str(chat.id)))
    else:
        reference = art_types.ChatReference(
            threads_id=str(chat.id),
            threads_title=chat.title,
            relation_type=link.relation_type,  # type: ignore[arg-type]
            linked_at=timestamp(link.linked_at),
        )
        update = art_svc.ArtifactUpdate(threads_added=reference)
    return _on_artifact_feed(
        str(link.artifact_id), chat.tenant_id, occurred_at, update, version=version, visibility_before=visibility_before
    )


def _on_artifact_feed(
    artifact_id: str,
    tenant_id: str,
    occurred_at: dt.datetime,
    update: art_svc.ArtifactUpdate,
    *,
    version: int,
    visibility_before: int,
) -> Publish:
    update.timestamp.CopyFrom(timestamp(occurred_at))
    update.version = version
    return Publish(
        feed_key=artifact_feed(artifact_id),
        tenant_id=tenant_id,
        update=update.SerializeToString(deterministic=True),
        occurred_at=occurred_at,
        chat_visibility_before=visibility_before,
    )
