"""Read-model rows as the query side reads them, and their wire messages."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_types_pb2 as types

PRIVATE = int(types.CHAT_VISIBILITY_PRIVATE)
TEAM = int(types.CHAT_VISIBILITY_TEAM)
PUBLIC = int(types.CHAT_VISIBILITY_PUBLIC)

# Columns of rm_chats every chat read selects, in ChatRow's order.
CHAT_COLUMNS = (
    "c.id, c.tenant_id, c.owner, c.title, c.visibility, c.description, c.labels, c.tags, c.agent_id, "
    "c.message_count, c.created_at, c.updated_at, c.last_activity_at, c.deleted, c.version"
)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROS_PER_SECOND = 1_000_000


def epoch_micros(column: str) -> str:
    """SQL: a timestamptz column as integer microseconds since 1970 (exact: ``extract`` is numeric since PG 14)."""
    return f"(extract(epoch FROM {column}) * 1000000)::int8"


# ListChats' columns, in ListedChat's order: CHAT_COLUMNS as plain values a page of chats loads and encodes at half
# the cost (a text id, labels as JSON text, times as integers), instead of a UUID, three datetimes and a dict a row.
LISTED_CHAT_COLUMNS = (
    "c.id::text, c.tenant_id, c.owner, c.title, c.visibility, c.description, c.labels::text, c.tags, c.agent_id, "
    f"c.message_count, {epoch_micros('c.created_at')}, {epoch_micros('c.updated_at')}, "
    f"{epoch_micros('c.last_activity_at')}, c.deleted, c.version"
)


def timestamp(value: dt.datetime) -> Timestamp:
    """A protobuf timestamp of an aware datetime (arithmetic, not ``FromDatetime``: this runs per row)."""
    delta = value - _EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def stamp(target: Timestamp, value: dt.datetime) -> None:
    """Set a timestamp field in place to an aware datetime."""
    delta = value - _EPOCH
    target.seconds = delta.days * 86_400 + delta.seconds
    target.nanos = delta.microseconds * 1000


@dataclass(frozen=True, slots=True)
class ChatRow:
    """A chat of the read model."""

    id: uuid.UUID
    tenant_id: str
    owner: str
    title: str
    visibility: int
    description: str
    labels: Mapping[str, str]
    tags: list[str]
    agent_id: str
    message_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    last_activity_at: dt.datetime
    deleted: bool
    version: int

    @classmethod
    def of(cls, row: Any) -> ChatRow:  # noqa: ANN401 - an SQLAlchemy Row selecting CHAT_COLUMNS
        """Build from a result row selecting ``CHAT_COLUMNS`` (extra columns ignored)."""
        return cls(
            row.id,
            row.tenant_id,
            row.owner,
            row.title,
            row.visibility,
            row.description,
            row.labels,
            row.tags,
            row.agent_id,
            row.message_count,
            row.created_at,
            row.updated_at,
            row.last_activity_at,
            row.deleted,
            row.version,
        )

    def message(self) -> types.Chat:
        """The wire Chat."""
        chat = types.Chat()
        self.fill(chat)
        return chat

    def fill(self, chat: types.Chat) -> None:
        """Write the wire Chat into an empty ``chat``, typically ``reply.threads.add()``.

        Filling the reply's own element field by field costs a quarter of building a Chat from keyword arguments
        (each nested Timestamp and ChatMetadata is built, then copied in) and copying that into the reply.
        """
        chat.id = str(self.id)
        chat.title = self.title
        chat.user_id = self.owner
        chat.visibility = self.visibility  # type: ignore[assignment]
        chat.tenant_id = self.tenant_id
        chat.agent_id = self.agent_id
        chat.message_count = self.message_count
        chat.version = self.version
        stamp(chat.created_at, self.created_at)
        stamp(chat.updated_at, self.updated_at)
        stamp(chat.last_activity_at, self.last_activity_at)
        metadata = chat.metadata
        metadata.description = self.description
        metadata.tags.extend(self.tags)
        if self.labels:
            metadata.labels.update(self.labels)


def stamp_micros(target: Timestamp, micros: int) -> None:
    """Set a timestamp field in place to microseconds since 1970."""
    seconds, rest = divmod(micros, _MICROS_PER_SECOND)
    target.seconds = seconds
    target.nanos = rest * 1000


@dataclass(frozen=True, slots=True)
class ListedChat:
    """A chat of a ListChats page, as ``LISTED_CHAT_COLUMNS`` selects it."""

    id: str
    tenant_id: str
    owner: str
    title: str
    visibility: int
    description: str
    labels_json: str
    tags: list[str]
    agent_id: str
    message_count: int
    created_us: int
    updated_us: int
    last_activity_us: int
    deleted: bool
    version: int

    def fill(self, chat: types.Chat) -> None:
        """Write the wire Chat into an empty ``chat`` (the same message ``ChatRow.fill`` writes)."""
        chat.id = self.id
        chat.title = self.title
        chat.user_id = self.owner
        chat.visibility = self.visibility  # type: ignore[assignment]
        chat.tenant_id = self.tenant_id
        chat.agent_id = self.agent_id
        chat.message_count = self.message_count
        chat.version = self.version
        stamp_micros(chat.created_at, self.created_us)
        stamp_micros(chat.updated_at, self.updated_us)
        stamp_micros(chat.last_activity_at, self.last_activity_us)
        metadata = chat.metadata
        metadata.description = self.description
        metadata.tags.extend(self.tags)
        if self.labels_json != "{}":
            metadata.labels.update(json.loads(self.labels_json))

    def keyset(self) -> tuple[dt.datetime, uuid.UUID]:
        """The list's keyset position of this chat: (last activity, id)."""
        return _EPOCH + dt.timedelta(microseconds=self.last_activity_us), uuid.UUID(self.id)


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    """An artifact of the read model (``body`` only when content was read)."""

    id: uuid.UUID
    tenant_id: str
    owner: str
    title: str
    kind: str
    labels: Mapping[str, str]
    version: int
    mime: str
    body: bytes | None
    primary_chat_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted: bool

    def message(self) -> art_types.ArtifactView:
        """The wire ArtifactView (content only when it was read)."""
        view = art_types.ArtifactView(
            id=str(self.id),
            title=self.title,
            kind=self.kind,
            labels=self.labels,
            version=self.version,
            user_id=self.owner,
            created_at=timestamp(self.created_at),
            updated_at=timestamp(self.updated_at),
            primary_threads_id=str(self.primary_chat_id) if self.primary_chat_id else "",
            tenant_id=self.tenant_id,
        )
        if self.body is not None:
            view.content.CopyFrom(art_types.ArtifactContent(mime_type=self.mime, body=self.body))
        return view
