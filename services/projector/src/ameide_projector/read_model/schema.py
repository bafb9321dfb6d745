"""Read-model tables as SQLAlchemy Core objects.

Migration 0002 creates the same tables by hand in ``public``; the rebuild creates them from these objects in a
fresh schema (blue/green), and a test checks both shapes stay identical. Tables carry no schema name: statements
resolve them through ``search_path``, which is how the rebuild points the writer at its build schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData()

_TS = sa.DateTime(timezone=True)

# Highest stream version applied per stream: the projector's idempotency guard and what read-your-writes waits on.
rm_stream_versions = sa.Table(
    "rm_stream_versions",
    metadata,
    sa.Column("stream_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
)

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
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("last_activity_at", _TS, nullable=False),
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
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("search", pg.TSVECTOR, sa.Computed("to_tsvector('simple'::regconfig, text)", persisted=True)),
    sa.Index("rm_messages_search_idx", "tenant_id", "search", postgresql_using="gin"),  # btree_gin (migration 0005)
)

rm_artifacts = sa.Table(
    "rm_artifacts",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("labels", pg.JSONB, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("mime", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("primary_chat_id", pg.UUID(as_uuid=True), nullable=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    # ListArtifacts: a tenant's live artifacts, most recently updated first.
    sa.Index(
        "rm_artifacts_tenant_updated_idx",
        "tenant_id",
        sa.text("updated_at DESC"),
        sa.text("id DESC"),
        postgresql_where=sa.text("NOT deleted"),
    ),
)

# The artifact as of each version that changed content or metadata. mime/body are NULL when that version left the
# content unchanged, so a metadata edit never copies a 4 MiB body.
rm_artifact_versions = sa.Table(
    "rm_artifact_versions",
    metadata,
    sa.Column("artifact_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("version", sa.BigInteger, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("labels", pg.JSONB, nullable=False),
    sa.Column("mime", sa.Text, nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=True),
    sa.Column("changed_at", _TS, nullable=False),
)

# Chat <-> artifact links, written idempotently from either stream's event (whichever shard gets there first).
rm_chat_artifacts = sa.Table(
    "rm_chat_artifacts",
    metadata,
    sa.Column("chat_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("artifact_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("relation_type", sa.SmallInteger, nullable=False),
    sa.Column("linked_at", _TS, nullable=False),
    sa.Column("linked_by", sa.Text, nullable=False),
    sa.Index("rm_chat_artifacts_chat_idx", "chat_id", sa.text("linked_at DESC"), sa.text("artifact_id DESC")),
    sa.Index("rm_chat_artifacts_artifact_idx", "artifact_id", sa.text("linked_at DESC"), sa.text("chat_id DESC")),
)

# One entry per artifact-stream event, keyed by the stream version it produced.
rm_artifact_history = sa.Table(
    "rm_artifact_history",
    metadata,
    sa.Column("artifact_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("version", sa.BigInteger, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("occurred_at", _TS, nullable=False),
    sa.Column("user_id", sa.Text, nullable=False),
    sa.Column("chat_id", pg.UUID(as_uuid=True), nullable=True),
    sa.Column("metadata", pg.JSONB, nullable=False),
)

# What the rebuild builds and swaps, in creation order.
REBUILT_TABLES: tuple[sa.Table, ...] = (
    rm_stream_versions,
    rm_chats,
    rm_chat_search,
    rm_messages,
    rm_artifacts,
    rm_artifact_versions,
    rm_chat_artifacts,
    rm_artifact_history,
)
