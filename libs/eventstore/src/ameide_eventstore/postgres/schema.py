"""Event-store tables as SQLAlchemy Core objects (migration 0001 creates them by hand, in the same shape)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData()

# One row per stream: its head version and the small decision snapshot, so loading an aggregate reads one row.
es_streams = sa.Table(
    "es_streams",
    metadata,
    sa.Column("stream_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("stream_type", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("state", sa.LargeBinary, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    # The version at which the decision state last changed, while only commutative appends followed (migration
    # 0008); NULL: the stream's version.
    sa.Column("state_version", sa.BigInteger, nullable=True),
)

# The source of truth. UNIQUE(stream_id, version) is the hard backstop of optimistic concurrency and
# UNIQUE(event_id) makes a re-appended event an error instead of a silent duplicate.
es_events = sa.Table(
    "es_events",
    metadata,
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
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("event_id", name="es_events_event_id_key"),
    sa.UniqueConstraint("stream_id", "version", name="es_events_stream_id_version_key"),
)

# Transactional outbox: one row per event, deleted by the projector in its read-model transaction.
es_outbox = sa.Table(
    "es_outbox",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("shard", sa.SmallInteger, nullable=False),
    sa.Column("global_position", sa.BigInteger, nullable=False),
    sa.Column("stream_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Index("es_outbox_shard_id_idx", "shard", "id"),
)

es_idempotency = sa.Table(
    "es_idempotency",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.LargeBinary, nullable=False),
    sa.Column("response", sa.LargeBinary, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("es_idempotency_expires_at_idx", "expires_at"),
)

# Poison events parked by the outbox consumer (on_error="park"), with the error that stopped them.
es_dead_letters = sa.Table(
    "es_dead_letters",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("global_position", sa.BigInteger, nullable=False),
    sa.Column("stream_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("shard", sa.SmallInteger, nullable=False),
    sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)
