"""The migrations and ameide_readmodel's table definitions describe the same tables (the rebuild relies on it)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_projector.read_model import blue_green

pytestmark = pytest.mark.integration

_INDEXES = text(
    "SELECT tablename, indexname, replace(indexdef, schemaname || '.', '') FROM pg_indexes "
    "WHERE schemaname = :schema AND tablename LIKE 'rm\\_%' AND tablename NOT LIKE 'rm\\_feed%' ORDER BY 1, 2"
)
# Column order, not ordinal_position itself: a column a migration dropped leaves a gap in the live table's numbers
# (0004 moved the search document off rm_chats), so a column added later has another number than in a fresh table.
_COLUMNS = text(
    "SELECT table_name, column_name, data_type, is_nullable, generation_expression, "
    "row_number() OVER (PARTITION BY table_name ORDER BY ordinal_position) AS position "
    "FROM information_schema.columns WHERE table_schema = :schema AND table_name LIKE 'rm\\_%' "
    "AND table_name NOT LIKE 'rm\\_feed%' ORDER BY 1, 6"
)


async def test_migrated_tables_match_the_definitions(engine: AsyncEngine) -> None:
    """Columns, generated expressions, nullability and indexes agree between migration and definitions."""
    schema = blue_green.build_schema_name(uuid.uuid4().hex[:12])
    async with engine.begin() as conn:
        await blue_green.create_build_schema(conn, schema)
        try:
            for query in (_INDEXES, _COLUMNS):
                live = (await conn.execute(query, {"schema": "public"})).all()
                built = (await conn.execute(query, {"schema": schema})).all()
                assert live == built
                assert live
        finally:
            await blue_green.drop_schema(conn, schema)
