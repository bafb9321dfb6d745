"""The append statements (psycopg placeholders): every variant is built once, at import.

One statement moves the stream head (insert, or update guarded by the expected version), inserts the events
numbered from the new head and one outbox row per event. When the guard fails, ``es_version_conflict`` raises
SQLSTATE ES409 (``es_fail``), so the statement (and its transaction) is all or nothing and needs no client-side
check before COMMIT. A single-stream append runs as ONE autocommit statement: one round trip, nothing held between
statements. The "claim" variants also claim the idempotency key first in the same statement: if an unexpired
record exists (after waiting for a concurrent writer of the same key to finish) nothing is written and
``replayed`` is true (single stream) or the statement raises ES200 (the first stream of a multi-stream append,
so the transaction's other statements never run).
"""

# ruff: noqa: S608  # statements are assembled from module constants only; values are always bound parameters

from __future__ import annotations

import functools
import re
from enum import Enum

CONFLICT_SQLSTATE = "ES409"
REPLAYED_SQLSTATE = "ES200"

_EVENT_COLUMNS = "tenant_id, stream_id, stream_type, version, event_id, event_type, schema_version, payload, metadata"
_STREAM_VALUES = "%(stream_id)s, %(tenant_id)s, %(stream_type)s, %(n)s, %(state)s"
_UPDATE = (
    "UPDATE es_streams SET version = version + %(n)s, state = coalesce(%(state)s, state), state_version = NULL,"
    " updated_at = now()"
)
# A commutative append keeps state_version where it was (the version its decision state last changed at, or the
# current one), and only needs that to be no later than the version it decided on (``StreamAppend.commutative``).
# The guard reads the stream row alone, so a writer waiting for the row lock re-checks it on the committed row.
_COMMUTATIVE = (
    "UPDATE es_streams SET version = version + %(n)s, state = coalesce(%(state)s, state),"
    " state_version = coalesce(state_version, version), updated_at = now()"
    " WHERE stream_id = %(stream_id)s AND tenant_id = %(tenant_id)s"
    " AND coalesce(state_version, version) <= %(expected)s"
)
_CLAIMED = " AND EXISTS (SELECT 1 FROM claim)"


class Head(Enum):
    """How the expected version guards the stream head."""

    NEW = "new"
    EXACT = "exact"
    COMMUTATIVE = "commutative"
    EXISTING = "existing"
    ANY = "any"


def _head(kind: Head, *, claim: bool) -> str:
    guard = _CLAIMED if claim else ""
    if kind is Head.NEW:
        return (
            f"INSERT INTO es_streams (stream_id, tenant_id, stream_type, version, state) SELECT {_STREAM_VALUES}"
            f" WHERE true{guard} ON CONFLICT (stream_id) DO NOTHING"
        )
    if kind is Head.ANY:
        return (
            f"INSERT INTO es_streams (stream_id, tenant_id, stream_type, version, state) SELECT {_STREAM_VALUES}"
            f" WHERE true{guard} ON CONFLICT (stream_id) DO UPDATE SET version = es_streams.version + excluded.version,"
            " state = coalesce(excluded.state, es_streams.state), state_version = NULL, updated_at = now()"
            " WHERE es_streams.tenant_id = excluded.tenant_id"
        )
    if kind is Head.COMMUTATIVE:
        return f"{_COMMUTATIVE}{guard}"
    exact = " AND version = %(expected)s" if kind is Head.EXACT else ""
    return f"{_UPDATE} WHERE stream_id = %(stream_id)s AND tenant_id = %(tenant_id)s{exact}{guard}"


# One event (the common case) binds scalars; several bind arrays unnested in order (ORDER BY ord), so versions,
# global positions and outbox ids all grow together within the stream. The arrays go in binary (``%(x)b``): the
# text format escapes and quotes every element with a regex (about 100 us per 3-event append).
_ONE_EVENT = (
    f"INSERT INTO es_events ({_EVENT_COLUMNS})"
    " SELECT %(tenant_id)s, %(stream_id)s, %(stream_type)s, head.version, %(event_id)s, %(event_type)s,"
    " %(schema_version)s, %(payload)s, %(metadata)s::jsonb FROM head RETURNING global_position"
)
_MANY_EVENTS = (
    f"INSERT INTO es_events ({_EVENT_COLUMNS})"
    " SELECT %(tenant_id)s, %(stream_id)s, %(stream_type)s, head.version - %(n)s + u.ord,"
    " u.event_id, u.event_type, u.schema_version, u.payload, u.metadata::jsonb"
    " FROM head, unnest(%(event_ids)b::uuid[], %(event_types)b::text[], %(schema_versions)b::int[],"
    " %(payloads)b::bytea[], %(metadatas)b::text[])"
    " WITH ORDINALITY AS u(event_id, event_type, schema_version, payload, metadata, ord)"
    " ORDER BY u.ord RETURNING global_position"
)
_CLAIM = (
    "claim AS (INSERT INTO es_idempotency (tenant_id, user_id, key, request_hash, response, expires_at)"
    " VALUES (%(i_tenant_id)s, %(i_user_id)s, %(i_key)s, %(i_request_hash)s, %(i_response)s, now() + %(i_ttl)s)"
    " ON CONFLICT (tenant_id, user_id, key) DO UPDATE SET request_hash = excluded.request_hash,"
    " response = excluded.response, expires_at = excluded.expires_at WHERE es_idempotency.expires_at <= now()"
    " RETURNING expires_at), "
)
_CHECKED_VERSION = (
    "coalesce((SELECT version FROM head), es_fail(NULL::bigint, 'ES409',"
    " 'stream ' || %(stream_id)s::text || ' is not at the expected version'))"
)


def _statement(kind: Head, *, many: bool, claim: bool, replay_raises: bool = False) -> str:
    events = _MANY_EVENTS if many else _ONE_EVENT
    ctes = (
        f"WITH {_CLAIM if claim else ''}head AS ({_head(kind, claim=claim)} RETURNING version),"
        f" ev AS ({events}),"
        " ob AS (INSERT INTO es_outbox (shard, global_position, stream_id)"
        " SELECT %(shard)s, global_position, %(stream_id)s FROM ev ORDER BY global_position)"
    )
    if not claim:
        return f"{ctes} SELECT {_CHECKED_VERSION} AS version, (SELECT max(global_position) FROM ev) AS last_position"
    replayed = " ELSE es_fail(NULL::bigint, 'ES200', 'idempotency key already used')" if replay_raises else ""
    return (
        f"{ctes} SELECT CASE WHEN EXISTS (SELECT 1 FROM claim) THEN {_CHECKED_VERSION}{replayed} END AS version,"
        " (SELECT max(global_position) FROM ev) AS last_position, (SELECT expires_at FROM claim) AS expires_at"
    )


STATEMENTS: dict[tuple[Head, bool, bool], str] = {
    (kind, many, claim): _statement(kind, many=many, claim=claim)
    for kind in Head
    for many in (False, True)
    for claim in (False, True)
}

# A multi-stream append is BEGIN, one statement per stream and COMMIT sent in one pipeline; with a key, the first
# stream's statement claims it too, and an unexpired record makes it fail (ES200), which aborts everything queued
# after it. (A separate claim statement cost one more statement per append: Python and server work alike.)
FIRST_CLAIMING: dict[tuple[Head, bool], str] = {
    (kind, many): _statement(kind, many=many, claim=True, replay_raises=True) for kind in Head for many in (False, True)
}
STORED_RESPONSE = (
    "SELECT request_hash, response, expires_at FROM es_idempotency"
    " WHERE tenant_id = %(i_tenant_id)s AND user_id = %(i_user_id)s AND key = %(i_key)s"
)
# The command's idempotency fast path (before deciding): only an unexpired record counts.
UNEXPIRED_RESPONSE = f"{STORED_RESPONSE} AND expires_at > now()"
STREAM_HEAD = "SELECT version, tenant_id FROM es_streams WHERE stream_id = %(stream_id)s"
LOAD_STATES = (
    "SELECT stream_id, stream_type, tenant_id, version, state FROM es_streams WHERE stream_id = ANY(%(ids)s::uuid[])"
)


# --- a new stream and one other, in ONE statement --------------------------------------------------------------
# A command that creates a stream while appending to another (a first message about an artifact: the new chat and
# the artifact) writes both in one autocommit statement instead of a pipelined BEGIN, two statements and COMMIT:
# half the driver work and no transaction round of its own. The new stream's id is fresh, so the other stream's
# row is the only lock two such statements can contend for, and every head waits for the key's claim (the claim's
# row first, as in the pipeline); several contended streams keep the pipeline, whose sorted order rules out
# deadlocks. Stream n's CTEs are head{n}, ev{n} and ob{n}; its parameters are prefixed s{n}_.

_STREAM_PARAM = re.compile(r"%\((?!i_)(\w+)\)")
_HEAD_NAME = re.compile(r"\bhead\b")
_EV_NAME = re.compile(r"\bev\b")
_OB_NAME = re.compile(r"\bob\b")


def _numbered(fragment: str, n: int) -> str:
    """``fragment`` of stream ``n``: its CTE names and its own parameters numbered (the claim's are shared)."""
    fragment = _STREAM_PARAM.sub(rf"%(s{n}_\1)", fragment)
    fragment = _HEAD_NAME.sub(f"head{n}", fragment)
    return _OB_NAME.sub(f"ob{n}", _EV_NAME.sub(f"ev{n}", fragment))


def _stream_ctes(kind: Head, *, many: bool, claim: bool, n: int) -> str:
    events = _MANY_EVENTS if many else _ONE_EVENT
    ctes = (
        f"head AS ({_head(kind, claim=claim)} RETURNING version), ev AS ({events}),"
        " ob AS (INSERT INTO es_outbox (shard, global_position, stream_id)"
        " SELECT %(shard)s, global_position, %(stream_id)s FROM ev ORDER BY global_position)"
    )
    return _numbered(ctes, n)


@functools.cache
def joined_statement(shapes: tuple[tuple[Head, bool], ...], *, claim: bool) -> str:
    """One statement appending to each stream of ``shapes`` ((head kind, several events) in sorted stream order).

    Returns one row: each stream's new version (version0, version1, ...), the last global position and, with a
    claim, the record's expiry; every version is NULL when the key already holds an unexpired record.
    """
    ctes = ", ".join(_stream_ctes(kind, many=many, claim=claim, n=n) for n, (kind, many) in enumerate(shapes))
    versions = [_numbered(_CHECKED_VERSION, n) for n in range(len(shapes))]
    if claim:
        versions = [f"CASE WHEN EXISTS (SELECT 1 FROM claim) THEN {v} END" for v in versions]
    positions = " UNION ALL ".join(f"SELECT global_position FROM ev{n}" for n in range(len(shapes)))
    columns = ", ".join(f"{v} AS version{n}" for n, v in enumerate(versions))
    expiry = ", (SELECT expires_at FROM claim) AS expires_at" if claim else ""
    return (
        f"WITH {_CLAIM if claim else ''}{ctes} SELECT {columns},"
        f" (SELECT max(global_position) FROM ({positions}) AS e) AS last_position{expiry}"
    )
