"""One call of ``es_append_batch`` (migration 0008): a batch's parameters in, each command's outcome out.

The function runs every command in its own subtransaction, so each outcome row is that command's alone: appended,
replayed, a reused key, or a failure (a version conflict carries the stream's actual head). Arrays go in binary
(``%(x)b``): the text format would quote and escape every element.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ameide_eventstore.errors import (
    ConcurrencyError,
    EventStoreError,
    IdempotencyKeyReusedError,
    TenantMismatchError,
)
from ameide_eventstore.events import AppendResult, IdempotentWrite, StreamAppend
from ameide_eventstore.postgres.append_sql import CONFLICT_SQLSTATE
from ameide_eventstore.sharding import shard_of

CALL = (
    "SELECT o_outcome, o_versions, o_last_position, o_expires_at, o_response, o_stream_id, o_actual_version,"
    " o_actual_tenant, o_error_code FROM es_append_batch("
    "%(k_tenant)b::text[], %(k_user)b::text[], %(k_key)b::text[], %(k_hash)b::bytea[], %(k_response)b::bytea[],"
    " %(k_ttl)b::interval[], %(s_command)b::int[], %(s_id)b::uuid[], %(s_tenant)b::text[], %(s_type)b::text[],"
    " %(s_expected)b::bigint[], %(s_state)b::bytea[], %(s_shard)b::smallint[], %(s_first)b::int[],"
    " %(s_count)b::int[], %(s_commutative)b::boolean[], %(e_id)b::uuid[], %(e_type)b::text[], %(e_schema)b::int[],"
    " %(e_payload)b::bytea[], %(e_metadata)b::text[])"
)

_KEY_ARRAYS = ("k_tenant", "k_user", "k_key", "k_hash", "k_response", "k_ttl")
_ARRAYS = (
    *_KEY_ARRAYS,
    *("s_command", "s_id", "s_tenant", "s_type", "s_expected", "s_state", "s_shard", "s_first", "s_count"),
    "s_commutative",
    *("e_id", "e_type", "e_schema", "e_payload", "e_metadata"),
)


@dataclass(frozen=True, slots=True)
class Command:
    """One caller's append: its streams in sorted id order, and its idempotency record (if any)."""

    appends: Sequence[StreamAppend]
    idempotency: IdempotentWrite | None


class Again(enum.Enum):
    """A command the batch could not decide: append it again."""

    ALONE = "alone"  # an unexpected failure: on its own, where every error is explained as for a single append
    LATER = "later"  # its key's record expired while being read: as a fresh append


Outcome = AppendResult | EventStoreError | Again


def params(commands: Sequence[Command], shard_count: int) -> dict[str, list[Any]]:
    """The function's arguments for ``commands`` (in batch order)."""
    values: dict[str, list[Any]] = {name: [] for name in _ARRAYS}
    events = 0
    for number, command in enumerate(commands, start=1):
        write = command.idempotency
        if write is None:
            for name in _KEY_ARRAYS:
                values[name].append(None)
        else:
            values["k_tenant"].append(write.key.tenant_id)
            values["k_user"].append(write.key.user_id)
            values["k_key"].append(write.key.key)
            values["k_hash"].append(write.request_hash)
            values["k_response"].append(write.response)
            values["k_ttl"].append(write.ttl)
        for item in command.appends:
            values["s_command"].append(number)
            values["s_id"].append(item.stream_id)
            values["s_tenant"].append(item.tenant_id)
            values["s_type"].append(item.stream_type)
            values["s_expected"].append(item.expected_version)
            values["s_state"].append(item.snapshot)
            values["s_shard"].append(shard_of(item.stream_id, shard_count))
            values["s_first"].append(events + 1)
            values["s_count"].append(len(item.events))
            values["s_commutative"].append(item.commutative)
            events += len(item.events)
            for event in item.events:
                values["e_id"].append(event.event_id)
                values["e_type"].append(event.event_type)
                values["e_schema"].append(event.schema_version)
                values["e_payload"].append(event.payload)
                values["e_metadata"].append(json.dumps(dict(event.metadata), separators=(",", ":")))
    return values


def outcome(command: Command, row: Sequence[Any]) -> Outcome:
    """What one outcome row means for its command."""
    kind, versions, last_position, expires_at, response = row[0], row[1], row[2], row[3], row[4]
    write = command.idempotency
    if kind == "appended":
        stream_versions = {item.stream_id: version for item, version in zip(command.appends, versions, strict=True)}
        return AppendResult(
            replayed=False,
            response=write.response if write is not None else b"",
            expires_at=expires_at,
            versions=stream_versions,
            last_position=last_position,
        )
    if kind == "replayed":
        return AppendResult(
            replayed=True, response=bytes(response), expires_at=expires_at, versions={}, last_position=0
        )
    if kind == "reused" and write is not None:
        return IdempotencyKeyReusedError(write.key.key)
    if kind == "retry":
        return Again.LATER
    stream_id, actual, tenant, code = row[5], row[6], row[7], row[8]
    if kind == "failed" and code == CONFLICT_SQLSTATE:
        return _conflict(command, stream_id, actual, tenant)
    return Again.ALONE


def _conflict(command: Command, stream_id: uuid.UUID, actual: int | None, tenant: str | None) -> EventStoreError:
    item = next((i for i in command.appends if i.stream_id == stream_id), command.appends[0])
    if tenant is not None and tenant != item.tenant_id:
        return TenantMismatchError(f"stream {item.stream_id} belongs to another tenant")
    return ConcurrencyError(item.stream_id, item.expected_version, actual or 0)
