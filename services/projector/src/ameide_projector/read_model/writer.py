"""Loads the state a batch needs and writes a batch's plan: one statement per table, in the caller's transaction."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ameide_projector.projections.batch import Plan
from ameide_projector.projections.rows import ArtifactRow, ChatRow
from ameide_projector.read_model.schema import (
    rm_artifact_history,
    rm_artifact_versions,
    rm_artifacts,
    rm_chat_artifacts,
    rm_chats,
    rm_messages,
    rm_stream_versions,
)

# Every projector batch holds this lock in shared mode; the rebuild takes it exclusively for the instant it swaps
# the rebuilt tables in, so no batch writes half into the old tables and half into the new ones.
REBUILD_LOCK_ID = 0x616D6569_64650002

_SHARED_LOCK = sa.text("SELECT pg_advisory_xact_lock_shared(:id)")

_CHAT_COLUMNS = [c for c in rm_chats.c if c.name != "search"]
_ARTIFACT_COLUMNS = [c for c in rm_artifacts.c if c.name != "body"]

_LOAD_VERSIONS = sa.select(rm_stream_versions.c.stream_id, rm_stream_versions.c.version).where(
    rm_stream_versions.c.stream_id == sa.func.any(sa.bindparam("ids", type_=sa.ARRAY(sa.Uuid)))
)
_LOAD_CHATS = sa.select(*_CHAT_COLUMNS).where(
    rm_chats.c.id == sa.func.any(sa.bindparam("ids", type_=sa.ARRAY(sa.Uuid)))
)
_LOAD_ARTIFACTS = sa.select(*_ARTIFACT_COLUMNS).where(
    rm_artifacts.c.id == sa.func.any(sa.bindparam("ids", type_=sa.ARRAY(sa.Uuid)))
)


def _upsert(table: sa.Table, keys: tuple[str, ...], skip: tuple[str, ...] = ()) -> Any:  # noqa: ANN401 - an Insert
    stmt = pg_insert(table)
    columns = [c.name for c in table.c if c.name not in keys and c.name not in skip and c.computed is None]
    return stmt.on_conflict_do_update(index_elements=list(keys), set_={n: stmt.excluded[n] for n in columns})


_UPSERT_CHATS = _upsert(rm_chats, ("id",))
_UPSERT_ARTIFACTS = _upsert(rm_artifacts, ("id",))
# Loaded artifacts carry no body (it can be 4 MiB); unchanged content is never rewritten.
_UPDATE_ARTIFACTS_KEEP_BODY = (
    rm_artifacts.update()
    .where(rm_artifacts.c.id == sa.bindparam("b_id"))
    .values({c.name: sa.bindparam(f"b_{c.name}") for c in _ARTIFACT_COLUMNS if c.name != "id"})
)
_INSERT_MESSAGES = rm_messages.insert()
_INSERT_VERSIONS = rm_artifact_versions.insert()
_INSERT_HISTORY = rm_artifact_history.insert()
_DELETE_LINK = rm_chat_artifacts.delete().where(
    rm_chat_artifacts.c.chat_id == sa.bindparam("b_chat_id"),
    rm_chat_artifacts.c.artifact_id == sa.bindparam("b_artifact_id"),
)


def _link_upsert() -> Any:  # noqa: ANN401 - an Insert
    # Both streams write the link; whichever arrives first, the earliest link wins, so the incremental model and a
    # rebuild (which applies the events in another order) end up with the same row.
    stmt = pg_insert(rm_chat_artifacts)
    existing = rm_chat_artifacts.c
    earlier = stmt.excluded.linked_at < existing.linked_at
    return stmt.on_conflict_do_update(
        index_elements=["chat_id", "artifact_id"],
        set_={
            "linked_at": sa.func.least(existing.linked_at, stmt.excluded.linked_at),
            "relation_type": sa.case((earlier, stmt.excluded.relation_type), else_=existing.relation_type),
            "linked_by": sa.case((earlier, stmt.excluded.linked_by), else_=existing.linked_by),
        },
    )


_UPSERT_LINKS = _link_upsert()


def _version_upsert() -> Any:  # noqa: ANN401 - an Insert
    stmt = pg_insert(rm_stream_versions)
    return stmt.on_conflict_do_update(
        index_elements=["stream_id"],
        set_={"version": sa.func.greatest(rm_stream_versions.c.version, stmt.excluded.version)},
    )


_UPSERT_VERSIONS = _version_upsert()


async def hold_shared_lock(conn: AsyncConnection) -> None:
    """Take the rebuild lock in shared mode for the rest of the transaction."""
    await conn.execute(_SHARED_LOCK, {"id": REBUILD_LOCK_ID})


async def load_applied(conn: AsyncConnection, stream_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The highest applied version of each stream (absent = nothing applied)."""
    if not stream_ids:
        return {}
    rows = await conn.execute(_LOAD_VERSIONS, {"ids": list(stream_ids)})
    return {row.stream_id: int(row.version) for row in rows}


async def load_chats(conn: AsyncConnection, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, ChatRow]:
    """Current rows of these chats."""
    if not ids:
        return {}
    rows = await conn.execute(_LOAD_CHATS, {"ids": list(ids)})
    return {row.id: ChatRow(**{**row._asdict(), "labels": dict(row.labels), "tags": tuple(row.tags)}) for row in rows}


async def load_artifacts(conn: AsyncConnection, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, ArtifactRow]:
    """Current rows of these artifacts, without their bodies."""
    if not ids:
        return {}
    rows = await conn.execute(_LOAD_ARTIFACTS, {"ids": list(ids)})
    return {row.id: ArtifactRow(**{**row._asdict(), "labels": dict(row.labels), "body": None}) for row in rows}


def _as_params(row: object, prefix: str = "") -> dict[str, Any]:
    values = dataclasses.asdict(row)  # type: ignore[call-overload]
    for key, value in values.items():
        if isinstance(value, tuple):
            values[key] = list(value)
    return {f"{prefix}{k}": v for k, v in values.items()} if prefix else values


async def write_plan(conn: AsyncConnection, plan: Plan, heads: Mapping[uuid.UUID, tuple[str, int]]) -> None:
    """Write a batch's plan and advance the applied stream versions."""
    if plan.chats:
        await conn.execute(_UPSERT_CHATS, [_as_params(r) for r in plan.chats.values()])
    if plan.messages:
        await conn.execute(_INSERT_MESSAGES, [_as_params(r) for r in plan.messages])
    await _write_artifacts(conn, plan)
    await _write_links(conn, plan)
    if plan.history:
        await conn.execute(_INSERT_HISTORY, [_as_params(r) for r in plan.history])
    if heads:
        params = [{"stream_id": s, "tenant_id": t, "version": v} for s, (t, v) in heads.items()]
        await conn.execute(_UPSERT_VERSIONS, params)


async def _write_artifacts(conn: AsyncConnection, plan: Plan) -> None:
    with_body = [_as_params(r) for r in plan.artifacts.values() if r.body is not None]
    keep_body = [_as_params(r, "b_") for r in plan.artifacts.values() if r.body is None]
    if with_body:
        await conn.execute(_UPSERT_ARTIFACTS, with_body)
    if keep_body:
        for params in keep_body:
            del params["b_body"]
        await conn.execute(_UPDATE_ARTIFACTS_KEEP_BODY, keep_body)
    if plan.versions:
        await conn.execute(_INSERT_VERSIONS, [_as_params(r) for r in plan.versions])


async def _write_links(conn: AsyncConnection, plan: Plan) -> None:
    deletes = [{"b_chat_id": c, "b_artifact_id": a} for (c, a), change in plan.links.items() if change.delete_first]
    puts = [_as_params(change.put) for change in plan.links.values() if change.put is not None]
    if deletes:
        await conn.execute(_DELETE_LINK, deletes)
    if puts:
        await conn.execute(_UPSERT_LINKS, puts)
