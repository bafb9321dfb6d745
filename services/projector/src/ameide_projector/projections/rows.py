"""Read-model rows and the effects a projection asks for, as plain values (no SQL, no I/O)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChatRow:
    """A row of ``rm_chats``."""

    id: uuid.UUID
    tenant_id: str
    owner: str
    title: str
    visibility: int
    description: str
    labels: Mapping[str, str]
    tags: tuple[str, ...]
    agent_id: str
    message_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    last_activity_at: dt.datetime
    deleted: bool
    version: int


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A row of ``rm_messages``: ``payload`` is the serialized ChatMessage, ``text`` what search indexes."""

    chat_id: uuid.UUID
    seq: int
    id: uuid.UUID
    tenant_id: str
    user_id: str
    role: str
    payload: bytes
    text: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    """A row of ``rm_artifacts``. ``body`` is ``None`` when it was not loaded and has not changed."""

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


@dataclass(frozen=True, slots=True)
class ArtifactVersionRow:
    """A row of ``rm_artifact_versions``; ``mime``/``body`` are ``None`` when this version kept the content."""

    artifact_id: uuid.UUID
    version: int
    tenant_id: str
    title: str
    labels: Mapping[str, str]
    mime: str | None
    body: bytes | None
    changed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class LinkRow:
    """A row of ``rm_chat_artifacts``."""

    chat_id: uuid.UUID
    artifact_id: uuid.UUID
    tenant_id: str
    relation_type: int
    linked_at: dt.datetime
    linked_by: str


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """A row of ``rm_artifact_history``."""

    artifact_id: uuid.UUID
    version: int
    tenant_id: str
    event_id: uuid.UUID
    event_type: str
    occurred_at: dt.datetime
    user_id: str
    chat_id: uuid.UUID | None
    metadata: Mapping[str, str]


# Effects: what one event changes. The batch folds them (in event order) into the statements it writes.


@dataclass(frozen=True, slots=True)
class PutChat:
    """The chat's whole row after the event."""

    row: ChatRow


@dataclass(frozen=True, slots=True)
class AddMessage:
    """A new message."""

    row: MessageRow


@dataclass(frozen=True, slots=True)
class PutArtifact:
    """The artifact's whole row after the event (``row.body`` is ``None`` when the content did not change)."""

    row: ArtifactRow


@dataclass(frozen=True, slots=True)
class AddArtifactVersion:
    """A readable past version."""

    row: ArtifactVersionRow


@dataclass(frozen=True, slots=True)
class Link:
    """A chat and an artifact are linked (written by either side; the earliest link wins)."""

    row: LinkRow


@dataclass(frozen=True, slots=True)
class Unlink:
    """A chat and an artifact are no longer linked."""

    chat_id: uuid.UUID
    artifact_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class AddHistory:
    """An entry of the artifact's history."""

    row: HistoryRow


@dataclass(frozen=True, slots=True)
class Publish:
    """A live update for a feed: ``update`` is a serialized ChatUpdate / ArtifactUpdate (no checkpoint token)."""

    feed_key: str
    tenant_id: str
    update: bytes
    occurred_at: dt.datetime


Effect = PutChat | AddMessage | PutArtifact | AddArtifactVersion | Link | Unlink | AddHistory | Publish


class MissingStateError(LookupError):
    """An event refers to a chat or artifact the read model does not have (its creation was never projected)."""
