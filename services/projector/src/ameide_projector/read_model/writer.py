"""Loads the state a batch needs and writes a batch's plan: one statement per table, in the caller's transaction."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Collection, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.types.array import ListBinaryDumper
from psycopg.types.json import Jsonb
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ameide_pg.statements import compiled
from ameide_projector.projections.batch import LinkedArtifact, Plan
from ameide_readmodel.artifacts import ArtifactRow, rm_artifact_history, rm_artifact_versions, rm_artifacts
from ameide_readmodel.chats import ChatRow, rm_chat_search, rm_chats, rm_messages
from ameide_readmodel.links import LinkRow, rm_chat_artifacts
from ameide_readmodel.schema import rm_stream_versions

# Every projector batch holds this lock in shared mode; the rebuild takes it exclusively for the instant it swaps
# the rebuilt tables in, so no batch writes half into the old tables and half into the new ones.
REBUILD_LOCK_ID = 0x616D6569_64650002

_SHARED_LOCK = sa.text("SELECT pg_advisory_xact_lock_shared(:id)")

_CHAT_COLUMNS = list(rm_chats.c)
_ARTIFACT_COLUMNS = [c for c in rm_artifacts.c if c.name != "body"]
_ARTIFACT_NAMES = [c.name for c in _ARTIFACT_COLUMNS]
# rm_chats' columns are ChatRow's fields in the same order: a loaded row becomes a ChatRow positionally.
_CHAT_LABELS = [c.name for c in _CHAT_COLUMNS].index("labels")
_CHAT_TAGS = [c.name for c in _CHAT_COLUMNS].index("tags")

_LOAD_VERSIONS = sa.select(rm_stream_versions.c.stream_id, rm_stream_versions.c.version).where(
    rm_stream_versions.c.stream_id == sa.func.any(sa.bindparam("ids", type_=sa.ARRAY(sa.Uuid)))
)
_LOAD_CHATS = sa.select(*_CHAT_COLUMNS).where(
    rm_chats.c.id == sa.func.any(sa.bindparam("ids", type_=sa.ARRAY(sa.Uuid)))
)
_LOAD_ARTIFACTS = sa.select(*_ARTIFACT_COLUMNS).where(
    rm_artifacts.c.id == sa.func.any(sa.bindparam("ids", type_=sa.ARRAY(sa.Uuid)))
)
# The live artifacts each of these chats is linked to, with the artifact's version (LinkedArtifact).
_LOAD_LINKS = (
    sa.select(*rm_chat_artifacts.c, rm_artifacts.c.version)
    .join(rm_artifacts, rm_artifacts.c.id == rm_chat_artifacts.c.artifact_id)
    .where(
        rm_chat_artifacts.c.chat_id == sa.func.any(sa.bindparam("ids", type_=sa.ARRAY(sa.Uuid))),
        sa.not_(rm_artifacts.c.deleted),
    )
)


def _upsert(table: sa.Table, keys: tuple[str, ...], skip: tuple[str, ...] = ()) -> Any:  # noqa: ANN401 - an Insert
    stmt = pg_insert(table)
    columns = [c.name for c in table.c if c.name not in keys and c.name not in skip and c.computed is None]
    return stmt.on_conflict_do_update(index_elements=list(keys), set_={n: stmt.excluded[n] for n in columns})


def _unnest(table: sa.Table, columns: list[sa.Column[Any]], casts: Mapping[str, Any] | None = None) -> Any:  # noqa: ANN401
    """``INSERT INTO table (columns) SELECT * FROM unnest(:col1, :col2, ...)``: a whole batch in one statement.

    Each bind parameter is one array (one element per row). ``casts`` turns the text a column is sent as into its
    type (jsonb, text[]: arrays of those cannot be sent as such).
    """
    casts = casts or {}
    arrays = [sa.cast(sa.bindparam(c.name), sa.ARRAY(sa.Text if c.name in casts else c.type)) for c in columns]
    rows = sa.func.unnest(*arrays).table_valued(*(c.name for c in columns)).render_derived(name="v")
    values = [casts[c.name](rows.c[c.name]) if c.name in casts else rows.c[c.name] for c in columns]
    return pg_insert(table).from_select([c.name for c in columns], sa.select(*values))


def _excluded_all(stmt: Any, keys: list[str]) -> Any:  # noqa: ANN401 - an Insert
    columns = [c.name for c in stmt.table.c if c.name not in keys and c.computed is None]
    return stmt.on_conflict_do_update(index_elements=keys, set_={n: stmt.excluded[n] for n in columns})


_CHAT_CASTS = {
    "labels": lambda col: sa.cast(col, JSONB),
    "tags": lambda col: sa.cast(col, sa.ARRAY(sa.Text)),
}
_UPSERT_CHATS = _excluded_all(_unnest(rm_chats, _CHAT_COLUMNS, _CHAT_CASTS), ["id"])


def _search_upsert() -> Any:  # noqa: ANN401 - an Insert
    names = ("chat_id", "tenant_id", "title", "description", "tags")
    arrays = [sa.cast(sa.bindparam(n), sa.ARRAY(sa.Uuid if n == "chat_id" else sa.Text)) for n in names]
    rows = sa.func.unnest(*arrays).table_valued(*names).render_derived(name="v")
    document = sa.func.rm_chat_document(rows.c.title, rows.c.description, sa.cast(rows.c.tags, sa.ARRAY(sa.Text)))
    stmt = pg_insert(rm_chat_search).from_select(
        ["chat_id", "tenant_id", "search"], sa.select(rows.c.chat_id, rows.c.tenant_id, document)
    )
    return stmt.on_conflict_do_update(index_elements=["chat_id"], set_={"search": stmt.excluded.search})


_UPSERT_SEARCH = _search_upsert()
_MESSAGE_NAMES = [c.name for c in rm_messages.c if c.computed is None]
_INSERT_MESSAGES = _unnest(rm_messages, [c for c in rm_messages.c if c.computed is None])
_UPSERT_ARTIFACTS = _upsert(rm_artifacts, ("id",))
# Loaded artifacts carry no body (it can be 4 MiB); unchanged content is never rewritten.
_UPDATE_ARTIFACTS_KEEP_BODY = (
    rm_artifacts.update()
    .where(rm_artifacts.c.id == sa.bindparam("b_id"))
    .values({c.name: sa.bindparam(f"b_{c.name}") for c in _ARTIFACT_COLUMNS if c.name != "id"})
)
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
    stmt = _unnest(rm_stream_versions, list(rm_stream_versions.c))
    return stmt.on_conflict_do_update(
        index_elements=["stream_id"],
        set_={"version": sa.func.greatest(rm_stream_versions.c.version, stmt.excluded.version)},
    )


_UPSERT_VERSIONS = _version_upsert()


# Statements run on the batch connection's psycopg connection, in pipeline mode (see ``Batch``): compiled once
# per schema translation (the rebuild writes its build schema through ``schema_translate_map``).
_compiled: dict[tuple[int, tuple[tuple[str | None, str | None], ...]], str] = {}


class Batch:
    """One batch's statements, sent straight to the psycopg connection under the caller's SQLAlchemy transaction.

    Inside ``pipeline()`` a statement whose result is not read is only queued: the loads cost one round trip per
    step that needs their rows, and every write plus the feed append one round trip together (psycopg flushes
    the queue when the feed's heads are fetched, and raises any queued statement's error there or when the
    pipeline closes). SQLAlchemy's own execute cannot be used inside a pipeline (it reads results at once).
    """

    def __init__(self, raw: psycopg.AsyncConnection[Any], translate: Mapping[str | None, str | None] | None) -> None:
        self.raw = raw
        self._translate = tuple(sorted(translate.items(), key=str)) if translate else ()

    def pipeline(self) -> AbstractAsyncContextManager[Any]:
        """Pipeline mode on the batch's connection for the ``async with`` block."""
        return self.raw.pipeline()

    def _sql(self, stmt: Any) -> str:  # noqa: ANN401 - any SQLAlchemy statement
        key = (id(stmt), self._translate)
        text = _compiled.get(key)
        if text is None:
            text = _compiled[key] = compiled(stmt, schema_translate=dict(self._translate))
        return text

    async def execute(self, stmt: Any, params: Mapping[str, Any]) -> psycopg.AsyncCursor[Any]:  # noqa: ANN401
        """Send ``stmt``; its rows are read from the returned cursor (``fetchall`` waits for them)."""
        cursor = self.raw.cursor()
        await cursor.execute(self._sql(stmt), params)
        return cursor

    async def execute_many(self, stmt: Any, params: list[dict[str, Any]]) -> None:  # noqa: ANN401
        """Send ``stmt`` once per parameter set (rare statements: artifacts, versions, history, links)."""
        async with self.raw.cursor() as cursor:
            await cursor.executemany(self._sql(stmt), params)


async def open_batch(conn: AsyncConnection) -> Batch:
    """The ``Batch`` of ``conn``'s transaction (begun here if the caller has not begun it yet).

    The batch statements send one array per column; psycopg's default text format escapes every element with a
    regex (about 6x slower for a 500-row batch of payloads and texts than the binary format registered here).
    """
    if not conn.in_transaction():
        await conn.begin()
    raw = (await conn.get_raw_connection()).driver_connection
    if raw is None:
        raise RuntimeError("the batch connection has no psycopg connection")
    raw.adapters.register_dumper(list, ListBinaryDumper)
    return Batch(
        raw, conn.sync_connection.get_execution_options().get("schema_translate_map") if conn.sync_connection else None
    )


async def lock_shared(batch: Batch) -> None:
    """Queue the rebuild lock in shared mode (held until the transaction ends)."""
    await batch.execute(_SHARED_LOCK, {"id": REBUILD_LOCK_ID})


async def load_applied(batch: Batch, stream_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The highest applied version of each stream (absent = nothing applied)."""
    if not stream_ids:
        return {}
    cursor = await batch.execute(_LOAD_VERSIONS, {"ids": list(stream_ids)})
    return {stream_id: int(version) for stream_id, version in await cursor.fetchall()}


@dataclass(frozen=True, slots=True)
class LoadedState:
    """What a batch changes, as it was before: chats, artifacts (without bodies), and some chats' links."""

    chats: dict[uuid.UUID, ChatRow]
    artifacts: dict[uuid.UUID, ArtifactRow]
    links: dict[uuid.UUID, list[LinkedArtifact]]


async def load_state(
    batch: Batch,
    chat_ids: Collection[uuid.UUID],
    artifact_ids: Collection[uuid.UUID],
    linked_chat_ids: Collection[uuid.UUID] = (),
) -> LoadedState:
    """Current rows of these chats and artifacts, and the live artifacts ``linked_chat_ids`` are linked to.

    One round trip: the statements are queued in the pipeline before the first result is read.
    """
    chat_rows = await batch.execute(_LOAD_CHATS, {"ids": list(chat_ids)}) if chat_ids else None
    artifact_rows = await batch.execute(_LOAD_ARTIFACTS, {"ids": list(artifact_ids)}) if artifact_ids else None
    link_rows = await batch.execute(_LOAD_LINKS, {"ids": list(linked_chat_ids)}) if linked_chat_ids else None
    chats: dict[uuid.UUID, ChatRow] = {}
    if chat_rows is not None:
        for row in await chat_rows.fetchall():
            values = list(row)
            values[_CHAT_LABELS], values[_CHAT_TAGS] = dict(values[_CHAT_LABELS]), tuple(values[_CHAT_TAGS])
            chats[values[0]] = ChatRow(*values)
    artifacts: dict[uuid.UUID, ArtifactRow] = {}
    if artifact_rows is not None:
        for row in await artifact_rows.fetchall():
            fields = dict(zip(_ARTIFACT_NAMES, row, strict=True))
            artifacts[fields["id"]] = ArtifactRow(**{**fields, "labels": dict(fields["labels"]), "body": None})
    links: dict[uuid.UUID, list[LinkedArtifact]] = {chat_id: [] for chat_id in linked_chat_ids}
    if link_rows is not None:
        for *link, version in await link_rows.fetchall():
            row = LinkRow(*link)
            links[row.chat_id].append(LinkedArtifact(row, int(version)))
    return LoadedState(chats, artifacts, links)


def _as_params(row: object, prefix: str = "") -> dict[str, Any]:
    # Shallow on purpose: dataclasses.asdict deep-copies every value (bodies, payloads), which dominated batches.
    names = _FIELDS.get(type(row))
    if names is None:
        names = _FIELDS[type(row)] = tuple(f.name for f in dataclasses.fields(row))  # type: ignore[arg-type]
    params: dict[str, Any] = {}
    for name in names:
        value = getattr(row, name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = Jsonb(dict(value))  # the jsonb columns (labels, metadata): psycopg sends no dict by itself
        params[prefix + name] = value
    return params


_FIELDS: dict[type, tuple[str, ...]] = {}


def _columns(rows: Collection[object], names: list[str]) -> dict[str, list[Any]]:
    """One array per column (the shape of the unnest statements' parameters)."""
    return {name: [getattr(row, name) for row in rows] for name in names}


def _chat_columns(chats: Collection[ChatRow]) -> dict[str, list[Any]]:
    params = _columns(chats, [c.name for c in _CHAT_COLUMNS if c.name not in _CHAT_CASTS])
    params["labels"] = [json.dumps(dict(c.labels), sort_keys=True) for c in chats]
    params["tags"] = [_text_array(c.tags) for c in chats]
    return params


def _text_array(values: Collection[str]) -> str:
    """A Postgres text[] literal (sent as a parameter, never spliced into SQL)."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "{" + ",".join(quoted) + "}"


async def write_plan(batch: Batch, plan: Plan, heads: Mapping[uuid.UUID, tuple[str, int]]) -> None:
    """Queue a batch's plan and the new applied stream versions (errors surface when the pipeline syncs)."""
    if plan.chats:
        await batch.execute(_UPSERT_CHATS, _chat_columns(plan.chats.values()))
    if plan.search_dirty:
        dirty = [plan.chats[i] for i in sorted(plan.search_dirty)]
        params = _columns(dirty, ["tenant_id", "title", "description"])
        params["chat_id"] = [c.id for c in dirty]
        params["tags"] = [_text_array(c.tags) for c in dirty]
        await batch.execute(_UPSERT_SEARCH, params)
    if plan.messages:
        await batch.execute(_INSERT_MESSAGES, _columns(plan.messages, _MESSAGE_NAMES))
    await _write_artifacts(batch, plan)
    await _write_links(batch, plan)
    if plan.history:
        await batch.execute_many(_INSERT_HISTORY, [_as_params(r) for r in plan.history])
    if heads:
        streams = list(heads)
        params = {
            "stream_id": streams,
            "tenant_id": [heads[s][0] for s in streams],
            "version": [heads[s][1] for s in streams],
        }
        await batch.execute(_UPSERT_VERSIONS, params)


async def _write_artifacts(batch: Batch, plan: Plan) -> None:
    with_body = [_as_params(r) for r in plan.artifacts.values() if r.body is not None]
    keep_body = [_as_params(r, "b_") for r in plan.artifacts.values() if r.body is None]
    if with_body:
        await batch.execute_many(_UPSERT_ARTIFACTS, with_body)
    if keep_body:
        for params in keep_body:
            del params["b_body"]
        await batch.execute_many(_UPDATE_ARTIFACTS_KEEP_BODY, keep_body)
    if plan.versions:
        await batch.execute_many(_INSERT_VERSIONS, [_as_params(r) for r in plan.versions])


async def _write_links(batch: Batch, plan: Plan) -> None:
    deletes = [{"b_chat_id": c, "b_artifact_id": a} for (c, a), change in plan.links.items() if change.delete_first]
    puts = [_as_params(change.put) for change in plan.links.values() if change.put is not None]
    if deletes:
        await batch.execute_many(_DELETE_LINK, deletes)
    if puts:
        await batch.execute_many(_UPSERT_LINKS, puts)
