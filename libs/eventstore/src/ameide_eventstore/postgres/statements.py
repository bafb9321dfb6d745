"""Event-store SQL, prebuilt once at import: the append path is one statement per stream.

Each append statement is a single CTE: move the stream head (insert, or update guarded by the expected
version), insert the events numbered from the new head, and insert one outbox row per event. When the guard
fails the head CTE yields no row, so nothing else is written and the caller sees an empty result.
"""

from __future__ import annotations

from sqlalchemy import TextClause, text

_EVENT_COLUMNS = "tenant_id, stream_id, stream_type, version, event_id, event_type, schema_version, payload, metadata"

# The tail shared by every head variant. Rows are numbered in the order given (ORDER BY u.ord), so versions,
# global positions and outbox ids all grow together within the stream.
_TAIL = f"""
, ev AS (
    INSERT INTO es_events ({_EVENT_COLUMNS})
    SELECT :tenant_id, :stream_id, :stream_type, head.version - :n + u.ord,
           u.event_id, u.event_type, u.schema_version, u.payload, u.metadata::jsonb
    FROM head,
         unnest(CAST(:event_ids AS uuid[]), CAST(:event_types AS text[]), CAST(:schema_versions AS int[]),
                CAST(:payloads AS bytea[]), CAST(:metadatas AS text[]))
             WITH ORDINALITY AS u(event_id, event_type, schema_version, payload, metadata, ord)
    ORDER BY u.ord
    RETURNING global_position
), ob AS (
    INSERT INTO es_outbox (shard, global_position, stream_id)
    SELECT :shard, global_position, :stream_id FROM ev ORDER BY global_position
)
SELECT head.version, (SELECT max(global_position) FROM ev) AS last_position FROM head
"""  # noqa: S608 - a constant; only bind parameters vary

_INSERT_HEAD = """
INSERT INTO es_streams (stream_id, tenant_id, stream_type, version, state)
VALUES (:stream_id, :tenant_id, :stream_type, :n, :state)
"""

_UPDATE_HEAD = "UPDATE es_streams SET version = version + :n, state = coalesce(:state, state), updated_at = now()"


def _append(head: str) -> TextClause:
    return text(f"WITH head AS ({head} RETURNING version){_TAIL}")


APPEND_NEW = _append(f"{_INSERT_HEAD} ON CONFLICT (stream_id) DO NOTHING")
APPEND_EXACT = _append(
    f"{_UPDATE_HEAD} WHERE stream_id = :stream_id AND version = :expected AND tenant_id = :tenant_id"
)
APPEND_EXISTING = _append(f"{_UPDATE_HEAD} WHERE stream_id = :stream_id AND tenant_id = :tenant_id")
APPEND_ANY = _append(
    f"{_INSERT_HEAD} ON CONFLICT (stream_id) DO UPDATE SET version = es_streams.version + excluded.version,"
    " state = coalesce(excluded.state, es_streams.state), updated_at = now()"
    " WHERE es_streams.tenant_id = excluded.tenant_id"
)

STREAM_HEAD = text("SELECT version, tenant_id FROM es_streams WHERE stream_id = :stream_id")

# Claim the key first. A concurrent duplicate blocks here until the first transaction ends; an expired record is
# replaced in place. No row back = an unexpired record exists (it is now locked by us and readable).
CLAIM_IDEMPOTENCY = text("""
INSERT INTO es_idempotency (tenant_id, user_id, key, request_hash, response, expires_at)
VALUES (:tenant_id, :user_id, :key, :request_hash, :response, now() + CAST(:ttl AS interval))
ON CONFLICT (tenant_id, user_id, key) DO UPDATE
SET request_hash = excluded.request_hash, response = excluded.response, expires_at = excluded.expires_at
WHERE es_idempotency.expires_at <= now()
RETURNING expires_at
""")

GET_IDEMPOTENCY = text("""
SELECT request_hash, response, expires_at FROM es_idempotency
WHERE tenant_id = :tenant_id AND user_id = :user_id AND key = :key AND expires_at > now()
""")

DELETE_EXPIRED_IDEMPOTENCY = text("DELETE FROM es_idempotency WHERE expires_at <= now()")

LOAD_STATES = text("""
SELECT stream_id, stream_type, tenant_id, version, state FROM es_streams WHERE stream_id = ANY(:stream_ids)
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
CLAIM_BATCH = text(f"""
WITH b AS (
    DELETE FROM es_outbox WHERE id IN (
        SELECT id FROM es_outbox WHERE shard = ANY(CAST(:shards AS smallint[])) ORDER BY id LIMIT :limit FOR UPDATE
    )
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
