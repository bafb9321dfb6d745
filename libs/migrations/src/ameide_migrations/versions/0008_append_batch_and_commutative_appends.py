"""Group commit (``es_append_batch``) and commutative appends (``es_streams.state_version``).

``es_streams.state_version``: the version at which a stream's decision state last changed, kept while only
commutative appends (``StreamAppend.commutative``: an artifact's links) follow it; NULL means "its version". A
commutative append needs ``coalesce(state_version, version)`` to be no later than the version it decided on, so
many chats linking one popular artifact at once no longer conflict with each other; every other append clears it.

``es_append_batch`` writes several commands' appends in one statement, each with its own outcome.

A command process batches the appends that arrive while its previous write is in flight and sends them as one
call: one round trip, one transaction and one WAL flush for the whole batch. Every command runs in its own
exception block (a subtransaction), so one command's version conflict, reused key or any other error rolls back
that command only and comes back as its own outcome row; the others commit. Per command, the steps are exactly
those of a single append: claim the idempotency key first (a concurrent holder of the key is waited for), then
move each stream head under its expected version, insert the events numbered from the new head and one outbox row
per event. Before any command, every existing stream of the batch is locked in id order, the order every append
takes its locks in, so batches and single appends never deadlock over streams.

Arguments are parallel arrays: per command (``k_*``: its key, NULL for none), per stream in command order with
each command's streams sorted by id (``s_*``: its command's 1-based index, and the slice of the event arrays it
writes), and per event (``e_*``). Outcome rows come back in command order: ``appended`` (new versions per stream,
last position, key expiry), ``replayed`` or ``reused`` (the stored response and expiry under the key), ``retry``
(the key's record vanished while being read: append again) or ``failed`` (SQLSTATE, message and constraint; for a
failed version guard, ES409, the stream and its actual version and tenant).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ARGUMENTS = (
    "k_tenant text[], k_user text[], k_key text[], k_hash bytea[], k_response bytea[], k_ttl interval[],"
    " s_command int[], s_id uuid[], s_tenant text[], s_type text[], s_expected bigint[], s_state bytea[],"
    " s_shard smallint[], s_first int[], s_count int[], s_commutative boolean[],"
    " e_id uuid[], e_type text[], e_schema int[], e_payload bytea[], e_metadata text[]"
)
_SIGNATURE = (
    "text[], text[], text[], bytea[], bytea[], interval[], int[], uuid[], text[], text[], bigint[], bytea[],"
    " smallint[], int[], int[], boolean[], uuid[], text[], int[], bytea[], text[]"
)

_FUNCTION = f"""
CREATE FUNCTION es_append_batch({_ARGUMENTS})
RETURNS TABLE (
    o_command int, o_outcome text, o_versions bigint[], o_last_position bigint, o_expires_at timestamptz,
    o_response bytea, o_stream_id uuid, o_actual_version bigint, o_actual_tenant text, o_error_code text,
    o_error_message text, o_constraint text
) LANGUAGE plpgsql AS $fn$
DECLARE
    commands int := coalesce(array_length(k_key, 1), 0);
    streams int := coalesce(array_length(s_id, 1), 0);
    next_stream int := 1;
    first_stream int;
    head bigint;
    written bigint;
    claimed timestamptz;
    failing uuid;
BEGIN
    PERFORM 1 FROM es_streams s WHERE s.stream_id = ANY(s_id) ORDER BY s.stream_id FOR UPDATE;
    FOR c IN 1..commands LOOP
        first_stream := next_stream;
        WHILE next_stream <= streams AND s_command[next_stream] = c LOOP
            next_stream := next_stream + 1;
        END LOOP;
        o_command := c; o_outcome := NULL; o_versions := '{{}}'; o_last_position := NULL; o_expires_at := NULL;
        o_response := NULL; o_stream_id := NULL; o_actual_version := NULL; o_actual_tenant := NULL;
        o_error_code := NULL; o_error_message := NULL; o_constraint := NULL; failing := NULL;
        BEGIN
            claimed := NULL;
            IF k_key[c] IS NOT NULL THEN
                INSERT INTO es_idempotency AS r (tenant_id, user_id, key, request_hash, response, expires_at)
                VALUES (k_tenant[c], k_user[c], k_key[c], k_hash[c], k_response[c], now() + k_ttl[c])
                ON CONFLICT (tenant_id, user_id, key) DO UPDATE SET request_hash = excluded.request_hash,
                    response = excluded.response, expires_at = excluded.expires_at WHERE r.expires_at <= now()
                RETURNING r.expires_at INTO claimed;
                IF claimed IS NULL THEN
                    SELECT r.response, r.expires_at,
                           CASE WHEN r.request_hash = k_hash[c] THEN 'replayed' ELSE 'reused' END
                      INTO o_response, o_expires_at, o_outcome
                      FROM es_idempotency r
                     WHERE r.tenant_id = k_tenant[c] AND r.user_id = k_user[c] AND r.key = k_key[c];
                    IF NOT FOUND THEN
                        o_outcome := 'retry';
                    END IF;
                    RETURN NEXT;
                    CONTINUE;
                END IF;
            END IF;
            FOR i IN first_stream..next_stream - 1 LOOP
                failing := s_id[i];
                head := NULL;
                IF s_expected[i] = 0 THEN
                    INSERT INTO es_streams AS t (stream_id, tenant_id, stream_type, version, state)
                    VALUES (s_id[i], s_tenant[i], s_type[i], s_count[i], s_state[i])
                    ON CONFLICT (stream_id) DO NOTHING RETURNING t.version INTO head;
                ELSIF s_expected[i] = -1 THEN
                    INSERT INTO es_streams AS t (stream_id, tenant_id, stream_type, version, state)
                    VALUES (s_id[i], s_tenant[i], s_type[i], s_count[i], s_state[i])
                    ON CONFLICT (stream_id) DO UPDATE SET version = t.version + excluded.version,
                        state = coalesce(excluded.state, t.state), state_version = NULL, updated_at = now()
                    WHERE t.tenant_id = excluded.tenant_id RETURNING t.version INTO head;
                ELSIF s_expected[i] = -2 THEN
                    UPDATE es_streams t SET version = t.version + s_count[i], state = coalesce(s_state[i], t.state),
                        state_version = NULL, updated_at = now()
                    WHERE t.stream_id = s_id[i] AND t.tenant_id = s_tenant[i] RETURNING t.version INTO head;
                ELSIF s_commutative[i] THEN
                    UPDATE es_streams t SET version = t.version + s_count[i], state = coalesce(s_state[i], t.state),
                        state_version = coalesce(t.state_version, t.version), updated_at = now()
                    WHERE t.stream_id = s_id[i] AND t.tenant_id = s_tenant[i]
                      AND coalesce(t.state_version, t.version) <= s_expected[i]
                    RETURNING t.version INTO head;
                ELSE
                    UPDATE es_streams t SET version = t.version + s_count[i], state = coalesce(s_state[i], t.state),
                        state_version = NULL, updated_at = now()
                    WHERE t.stream_id = s_id[i] AND t.tenant_id = s_tenant[i] AND t.version = s_expected[i]
                    RETURNING t.version INTO head;
                END IF;
                IF head IS NULL THEN
                    RAISE EXCEPTION USING ERRCODE = 'ES409', MESSAGE = 'stream is not at the expected version';
                END IF;
                WITH ev AS (
                    INSERT INTO es_events (tenant_id, stream_id, stream_type, version, event_id, event_type,
                                           schema_version, payload, metadata)
                    SELECT s_tenant[i], s_id[i], s_type[i], head - s_count[i] + u.ord, u.id, u.type, u.schema,
                           u.payload, u.metadata::jsonb
                      FROM unnest(e_id[s_first[i]:s_first[i] + s_count[i] - 1],
                                  e_type[s_first[i]:s_first[i] + s_count[i] - 1],
                                  e_schema[s_first[i]:s_first[i] + s_count[i] - 1],
                                  e_payload[s_first[i]:s_first[i] + s_count[i] - 1],
                                  e_metadata[s_first[i]:s_first[i] + s_count[i] - 1])
                           WITH ORDINALITY AS u(id, type, schema, payload, metadata, ord)
                     ORDER BY u.ord RETURNING es_events.global_position
                ), ob AS (
                    INSERT INTO es_outbox (shard, global_position, stream_id)
                    SELECT s_shard[i], ev.global_position, s_id[i] FROM ev ORDER BY ev.global_position
                )
                SELECT max(ev.global_position) INTO written FROM ev;
                o_versions := o_versions || head;
                o_last_position := greatest(o_last_position, written);
            END LOOP;
            o_outcome := 'appended';
            o_expires_at := claimed;
            RETURN NEXT;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS o_error_code = RETURNED_SQLSTATE, o_error_message = MESSAGE_TEXT,
                o_constraint = CONSTRAINT_NAME;
            o_outcome := 'failed'; o_versions := '{{}}'; o_last_position := NULL; o_expires_at := NULL;
            IF o_error_code = 'ES409' THEN
                o_stream_id := failing;
                SELECT t.version, t.tenant_id INTO o_actual_version, o_actual_tenant
                  FROM es_streams t WHERE t.stream_id = failing;
            END IF;
            RETURN NEXT;
        END;
    END LOOP;
END
$fn$
"""  # noqa: S608 - assembled from module constants only


def upgrade() -> None:
    op.add_column("es_streams", sa.Column("state_version", sa.BigInteger, nullable=True))
    # As the driver's own statement: SQLAlchemy's text() would read the array slices' ":s_first" as parameters.
    op.get_bind().exec_driver_sql(_FUNCTION)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION es_append_batch({_SIGNATURE})")
    op.drop_column("es_streams", "state_version")
