"""Event-store SQL (SQLAlchemy ``text``), prebuilt at import: reads, idempotency janitor, outbox consumption.

The append statements live in ``append_sql`` (they run on the psycopg connection directly: the hot path).
"""

from __future__ import annotations

from sqlalchemy import text

# In slices, so the janitor never holds a long transaction (or a big lock footprint) on a large backlog.
DELETE_EXPIRED_IDEMPOTENCY = text("""
DELETE FROM es_idempotency WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM es_idempotency WHERE expires_at <= now() LIMIT :limit FOR UPDATE SKIP LOCKED
))
""")

_RECORDED = (
    "global_position, stream_id, stream_type, tenant_id, version, event_id, event_type, schema_version, payload,"
    " metadata, recorded_at"
)

READ_STREAM = text(
    f"SELECT {_RECORDED} FROM es_events WHERE stream_id = :stream_id AND version >= :from_version"  # noqa: S608
    " ORDER BY version LIMIT :limit"
)
READ_ALL = text(
    f"SELECT {_RECORDED} FROM es_events WHERE global_position > :after ORDER BY global_position"  # noqa: S608
    " LIMIT :limit"
)

# --- outbox consumption ---------------------------------------------------------------------------------------

_BATCH_COLUMNS = (
    "b.id AS outbox_id, b.shard, e.global_position, e.stream_id, e.stream_type, e.tenant_id, e.version, e.event_id,"
    " e.event_type, e.schema_version, e.payload, e.metadata, e.recorded_at"
)

# Claim, delete and fetch a batch in one round trip. The delete is undone if the handler's transaction rolls back.
# FOR UPDATE without SKIP LOCKED: if two workers ever overlap on a shard (a lock connection died mid-batch), the
# second waits for the first and then skips the rows it deleted, so nothing is applied twice or out of order.
# A batch also ends once its payloads pass :max_bytes (the first event always comes): 500 messages of up to 1 MiB
# would otherwise be held in the projector's memory at once, several times over while they are decoded and
# written, and a worker killed for its memory would claim the same batch again after every restart.
# octet_length reads a TOASTed value's size from its header, without fetching the value.
CLAIM_BATCH = text(f"""
WITH picked AS (
    SELECT id, global_position FROM es_outbox WHERE shard = ANY(CAST(:shards AS smallint[]))
    ORDER BY id LIMIT :limit FOR UPDATE
), sized AS (
    SELECT p.id, sum(octet_length(e.payload)) OVER (ORDER BY p.id) - octet_length(e.payload) AS bytes_before
    FROM picked p JOIN es_events e ON e.global_position = p.global_position
), b AS (
    DELETE FROM es_outbox WHERE id IN (SELECT id FROM sized WHERE bytes_before < :max_bytes)
    RETURNING id, shard, global_position
)
SELECT {_BATCH_COLUMNS} FROM b JOIN es_events e ON e.global_position = b.global_position ORDER BY b.id
""")  # noqa: S608 - constants only

CLAIM_ONE = text(f"""
WITH b AS (DELETE FROM es_outbox WHERE id = :outbox_id RETURNING id, shard, global_position)
SELECT {_BATCH_COLUMNS} FROM b JOIN es_events e ON e.global_position = b.global_position
""")  # noqa: S608 - constants only

PARK = text("""
WITH b AS (DELETE FROM es_outbox WHERE id = :outbox_id RETURNING shard, global_position, stream_id)
INSERT INTO es_dead_letters (global_position, stream_id, event_type, error, shard)
SELECT b.global_position, b.stream_id, :event_type, :error, b.shard FROM b
""")

OUTBOX_STATS = text("""
SELECT (SELECT count(*) FROM es_outbox) AS depth,
       coalesce(extract(epoch FROM now() - (SELECT created_at FROM es_outbox ORDER BY id LIMIT 1)), 0) AS oldest,
       (SELECT count(*) FROM es_dead_letters) AS dead_letters
""")
