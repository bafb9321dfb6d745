"""Rows of the legacy database as the importer reads them (JSON columns as their original text)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Literal

MessageTable = Literal["Message_v2", "Message"]


def utc(value: dt.datetime) -> dt.datetime:
    """Legacy timestamps are ``timestamp without time zone`` holding UTC wall-clock time: make them aware."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class ChatRow:
    """A row of "Chat"."""

    id: uuid.UUID
    created_at: dt.datetime
    title: str
    user_id: uuid.UUID
    visibility: str


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A row of "Message_v2" (``body`` = parts) or of the older "Message" (``body`` = content, no attachments)."""

    table: MessageTable
    id: uuid.UUID
    chat_id: uuid.UUID
    role: str
    body: str
    attachments: str | None
    created_at: dt.datetime

    @property
    def key(self) -> str:
        """The row's key as listed in reports."""
        return f"{self.table}/{self.id}"


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """A row of "Document": one version of a document, keyed by (id, created_at)."""

    id: uuid.UUID
    created_at: dt.datetime
    title: str
    content: str | None
    kind: str
    user_id: uuid.UUID

    @property
    def key(self) -> str:
        """The row's key as listed in reports."""
        return f"Document/{self.id}@{self.created_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class SuggestionRow:
    """A row of "Suggestion": a proposed edit of one document version."""

    id: uuid.UUID
    document_id: uuid.UUID
    document_created_at: dt.datetime
    original_text: str
    suggested_text: str
    description: str | None
    is_resolved: bool
    user_id: uuid.UUID
    created_at: dt.datetime
