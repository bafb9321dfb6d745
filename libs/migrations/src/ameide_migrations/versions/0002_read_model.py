"""Read model: chats, messages, artifacts (with versions and history), chat-artifact links, projected versions.

Written by hand (not imported from ``ameide_readmodel``) so this revision never changes when the code moves on;
``ameide_readmodel`` describes the same tables and a test checks the two agree.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)

# array_to_string is only STABLE, so a generated column cannot call it directly; over text[] it is immutable in
# fact, which this wrapper declares. Title weighs most in ranking, then tags, then the description.
_CHAT_DOCUMENT = """
CREATE FUNCTION rm_chat_document(title text, description text, tags text[]) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A')
      || setweight(to_tsvector('simple'::regconfig, coalesce(array_to_string(tags, ' '), '')), 'B')
      || setweight(to_tsvector('simple'::regconfig, coalesce(description, '')), 'C')
$$
"""


def _chats() -> None:
    op.create_table(
        "rm_chats",
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
        sa.Column("search", pg.TSVECTOR, sa.Computed("rm_chat_document(title, description, tags)", persisted=True)),
    )
    op.create_index(
        "rm_chats_tenant_activity_idx",
        "rm_chats",
        ["tenant_id", sa.text("last_activity_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("NOT deleted"),
    )
    op.create_index("rm_chats_search_idx", "rm_chats", ["search"], postgresql_using="gin")


def _messages() -> None:
    op.create_table(
        "rm_messages",
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
    )
    op.create_index("rm_messages_search_idx", "rm_messages", ["search"], postgresql_using="gin")


def _artifacts() -> None:
    op.create_table(
        "rm_artifacts",
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
    )
    op.create_index(
        "rm_artifacts_tenant_updated_idx",
        "rm_artifacts",
        ["tenant_id", sa.text("updated_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("NOT deleted"),
    )
    op.create_table(
        "rm_artifact_versions",
        sa.Column("artifact_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("labels", pg.JSONB, nullable=False),
        sa.Column("mime", sa.Text, nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=True),
        sa.Column("changed_at", _TS, nullable=False),
    )
    op.create_table(
        "rm_artifact_history",
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


def _links() -> None:
    op.create_table(
        "rm_chat_artifacts",
        sa.Column("chat_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("artifact_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("relation_type", sa.SmallInteger, nullable=False),
        sa.Column("linked_at", _TS, nullable=False),
        sa.Column("linked_by", sa.Text, nullable=False),
    )
    op.create_index(
        "rm_chat_artifacts_chat_idx",
        "rm_chat_artifacts",
        ["chat_id", sa.text("linked_at DESC"), sa.text("artifact_id DESC")],
    )
    op.create_index(
        "rm_chat_artifacts_artifact_idx",
        "rm_chat_artifacts",
        ["artifact_id", sa.text("linked_at DESC"), sa.text("chat_id DESC")],
    )


def upgrade() -> None:
    op.execute(_CHAT_DOCUMENT)
    op.create_table(
        "rm_stream_versions",
        sa.Column("stream_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    _chats()
    _messages()
    _artifacts()
    _links()


def downgrade() -> None:
    for table in (
        "rm_chat_artifacts",
        "rm_artifact_history",
        "rm_artifact_versions",
        "rm_artifacts",
        "rm_messages",
        "rm_chats",
        "rm_stream_versions",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION rm_chat_document(text, text, text[])")
