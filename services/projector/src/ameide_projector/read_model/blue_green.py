"""DDL of the blue/green rebuild: a fresh schema of read-model tables, the stream-version diff, the swap.

The rebuilt tables live in a schema ``rm_build_<n>`` beside the live ones in ``public``; statements reach them
through SQLAlchemy's ``schema_translate_map`` (the writer's Table objects carry no schema). The swap moves the live
tables to ``rm_retired_<n>`` and the rebuilt ones into ``public`` in one transaction, so readers see either the old
model or the new one, never a mix.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ameide_projector.read_model.writer import REBUILD_LOCK_ID
from ameide_readmodel.base import metadata
from ameide_readmodel.schema import REBUILT_TABLES, rm_stream_versions

LIVE_SCHEMA = "public"
_NAME = re.compile(r"^rm_(build|retired)_[0-9a-f]{1,32}$")
# The swap waits for in-flight reads and projector batches, but never for long: retried by the caller.
SWAP_LOCK_TIMEOUT = "5s"

_EXCLUSIVE_LOCK = sa.text("SELECT pg_advisory_xact_lock(:id)")


def _check(name: str) -> str:
    # Schema names are composed by this module only; the pattern keeps them plain identifiers.
    if not _NAME.match(name):
        raise ValueError(f"not a rebuild schema name: {name!r}")
    return name


def build_schema_name(token: str) -> str:
    """The schema a rebuild builds into."""
    return _check(f"rm_build_{token}")


def retired_schema_name(token: str) -> str:
    """The schema the replaced tables are moved to."""
    return _check(f"rm_retired_{token}")


async def translated(conn: AsyncConnection, schema: str) -> AsyncConnection:
    """``conn`` with the read-model tables resolved in ``schema``."""
    return await conn.execution_options(schema_translate_map={None: _check(schema)})


async def create_build_schema(conn: AsyncConnection, schema: str) -> None:
    """Create ``schema`` with empty read-model tables, indexes and generated columns."""
    await conn.execute(sa.schema.CreateSchema(_check(schema)))
    build = await translated(conn, schema)
    await build.run_sync(lambda sync: metadata.create_all(sync, tables=list(REBUILT_TABLES), checkfirst=False))
    await conn.execution_options(schema_translate_map=None)


def _stream_versions_in(schema: str) -> sa.Table:
    return rm_stream_versions.to_metadata(sa.MetaData(), schema=schema)


async def version_diff(conn: AsyncConnection, build: str) -> tuple[dict[uuid.UUID, tuple[int, int]], ...]:
    """Streams whose applied versions differ: ``(live ahead {id: (built, live)}, build ahead {id: (live, built)})``."""
    live, built = _stream_versions_in(LIVE_SCHEMA), _stream_versions_in(_check(build))
    joined = live.outerjoin(built, live.c.stream_id == built.c.stream_id, full=True)
    stmt: Any = (
        sa.select(
            sa.func.coalesce(live.c.stream_id, built.c.stream_id).label("stream_id"),
            sa.func.coalesce(live.c.version, 0).label("live"),
            sa.func.coalesce(built.c.version, 0).label("built"),
        )
        .select_from(joined)
        .where(sa.func.coalesce(live.c.version, 0) != sa.func.coalesce(built.c.version, 0))
    )
    live_ahead: dict[uuid.UUID, tuple[int, int]] = {}
    build_ahead: dict[uuid.UUID, tuple[int, int]] = {}
    for row in await conn.execute(stmt):
        if row.live > row.built:
            live_ahead[row.stream_id] = (int(row.built), int(row.live))
        else:
            build_ahead[row.stream_id] = (int(row.live), int(row.built))
    return live_ahead, build_ahead


async def lock_out_projectors(conn: AsyncConnection) -> None:
    """Wait for in-flight projector batches and keep new ones out until this transaction ends."""
    await conn.execute(sa.text(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'"))
    await conn.execute(_EXCLUSIVE_LOCK, {"id": REBUILD_LOCK_ID})


async def swap(conn: AsyncConnection, build: str, retired: str) -> None:
    """Move the live tables to ``retired`` and the rebuilt ones into the live schema (inside the caller's txn)."""
    preparer = conn.dialect.identifier_preparer
    await conn.execute(sa.schema.CreateSchema(_check(retired)))
    for table in REBUILT_TABLES:
        name = preparer.quote(table.name)
        await conn.execute(sa.text(f"ALTER TABLE {LIVE_SCHEMA}.{name} SET SCHEMA {_check(retired)}"))
        await conn.execute(sa.text(f"ALTER TABLE {_check(build)}.{name} SET SCHEMA {LIVE_SCHEMA}"))
    await conn.execute(sa.schema.DropSchema(_check(build)))


async def drop_schema(conn: AsyncConnection, schema: str) -> None:
    """Drop a build or retired schema and everything in it."""
    await conn.execute(sa.schema.DropSchema(_check(schema), cascade=True, if_exists=True))
