"""Event store: streams with snapshots, events, transactional outbox, idempotency records, dead letters.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _created_at(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "es_streams",
        sa.Column("stream_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("stream_type", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("state", sa.LargeBinary, nullable=True),
        _created_at("updated_at"),
    )
    op.create_table(
        "es_events",
        sa.Column("global_position", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("stream_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("stream_type", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("metadata", pg.JSONB, nullable=False),
        _created_at("recorded_at"),
        sa.UniqueConstraint("event_id", name="es_events_event_id_key"),
        sa.UniqueConstraint("stream_id", "version", name="es_events_stream_id_version_key"),
    )
    op.create_table(
        "es_outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("shard", sa.SmallInteger, nullable=False),
        sa.Column("global_position", sa.BigInteger, nullable=False),
        sa.Column("stream_id", pg.UUID(as_uuid=True), nullable=False),
        _created_at("created_at"),
    )
    op.create_index("es_outbox_shard_id_idx", "es_outbox", ["shard", "id"])
    op.create_table(
        "es_idempotency",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("request_hash", sa.LargeBinary, nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("es_idempotency_expires_at_idx", "es_idempotency", ["expires_at"])
    op.create_table(
        "es_dead_letters",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("global_position", sa.BigInteger, nullable=False),
        sa.Column("stream_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("shard", sa.SmallInteger, nullable=False),
        _created_at("parked_at"),
    )
    # Lets an append statement fail when a guard does not hold (expected version, idempotency key), so the whole
    # append can be sent at once and still be all or nothing: no client-side check between writing and COMMIT.
    # `kind` only carries the result type (e.g. NULL::bigint) so the call fits in coalesce().
    op.execute(
        "CREATE FUNCTION es_fail(kind anyelement, code text, message text) RETURNS anyelement LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message; END $$"
    )
    # The outbox is a queue: rows live for milliseconds. Vacuum it eagerly so dead tuples never pile up
    # (the "40 GB outbox of dead tuples" failure mode), and keep its statistics fresh.
    op.execute(
        "ALTER TABLE es_outbox SET (autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 1000, "
        "autovacuum_analyze_scale_factor = 0.0, autovacuum_analyze_threshold = 1000)"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION es_fail(anyelement, text, text)")
    op.drop_table("es_dead_letters")
    op.drop_index("es_idempotency_expires_at_idx", table_name="es_idempotency")
    op.drop_table("es_idempotency")
    op.drop_index("es_outbox_shard_id_idx", table_name="es_outbox")
    op.drop_table("es_outbox")
    op.drop_table("es_events")
    op.drop_table("es_streams")
