"""Chats: ``rm_chats`` (one row per chat), ``rm_chat_search`` (its search document) and ``rm_messages``."""

from __future__ import annotations

import datetime as dt
import operator
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from ameide_readmodel.base import TIMESTAMP, metadata

rm_chats = sa.Table(
    "rm_chats",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("visibility", sa.SmallInteger, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("labels", pg.JSONB, nullable=False),
    sa.Column("tags", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("agent_id", sa.Text, nullable=False),
    sa.Column("message_count", sa.BigInteger, nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Column("last_activity_at", TIMESTAMP, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    # ListChats: a tenant's live chats, most recently active first (keyset on last_activity_at, id).
    sa.Index(
        "rm_chats_tenant_activity_idx",
        "tenant_id",
        sa.text("last_activity_at DESC"),
        sa.text("id DESC"),
        postgresql_where=sa.text("NOT deleted"),
    ),
    # ListChats' total_count: the listing rule's columns only, so the count is an index-only scan (migration 0007).
    sa.Index("rm_chats_listable_idx", "tenant_id", "visibility", "owner", postgresql_where=sa.text("NOT deleted")),
)


@dataclass(frozen=True, slots=True)
class ChatRow:
    """A row of ``rm_chats``; the fields are its columns, in column order."""

    id: uuid.UUID
    tenant_id: str
    owner: str
    title: str
    visibility: int
    description: str
    labels: Mapping[str, str]
    tags: Sequence[str]
    agent_id: str
    message_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    last_activity_at: dt.datetime
    deleted: bool
    version: int

    @classmethod
    def of(cls, row: Any) -> ChatRow:  # noqa: ANN401 - a result row with the columns as attributes
        """Build from a result row that selected ``rm_chats``' columns by name (other columns are ignored)."""
        return cls(*_CHAT_VALUES(row))


_CHAT_VALUES = operator.attrgetter(*(f.name for f in fields(ChatRow)))

# A chat's searchable document, written only when its title, description or tags change (migration 0004: kept off
# rm_chats, which every message rewrites). rm_chat_document (migration 0002) weights title A, tags B, description C.
rm_chat_search = sa.Table(
    "rm_chat_search",
    metadata,
    sa.Column("chat_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("search", pg.TSVECTOR, nullable=False),
    sa.Index("rm_chat_search_idx", "tenant_id", "search", postgresql_using="gin"),  # btree_gin (migration 0005)
)

# One row per message; payload is the ChatMessage proto exactly as sent (parts and attachments kept losslessly).
rm_messages = sa.Table(
    "rm_messages",
    metadata,
    sa.Column("chat_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("user_id", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("search", pg.TSVECTOR, sa.Computed("to_tsvector('simple'::regconfig, text)", persisted=True)),
    sa.Index("rm_messages_search_idx", "tenant_id", "search", postgresql_using="gin"),  # btree_gin (migration 0005)
)


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A row of ``rm_messages`` without the generated ``search``.

    ``payload`` is the serialized ChatMessage, ``text`` what search indexes.
    """

    chat_id: uuid.UUID
    seq: int
    id: uuid.UUID
    tenant_id: str
    user_id: str
    role: str
    payload: bytes
    text: str
    created_at: dt.datetime
