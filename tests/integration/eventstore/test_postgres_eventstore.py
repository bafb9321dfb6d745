import uuid
from typing import Any

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ameide_eventstore import EventStoreError, TransientStoreError
from ameide_eventstore.postgres import PostgresEventStore
from ameide_eventstore.sharding import SHARD_SQL, shard_of
from ameide_eventstore.testing import CONTRACT_UPCASTERS, EventStoreContract, stream
from tests.support.servers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(name="store")
def fixture_store(engine: AsyncEngine) -> PostgresEventStore:
    """A store on the run's shared database (tests isolate by random stream ids)."""
    return PostgresEventStore(engine, upcasters=CONTRACT_UPCASTERS)


class TestPostgresEventStore(EventStoreContract):
    """The Postgres store passes the shared contract."""


class TestSnapshots:
    async def test_loading_a_long_stream_never_touches_events(
        self, store: PostgresEventStore, engine: AsyncEngine, database_url: str
    ) -> None:
        """A stream with thousands of events loads from its head row alone: a role that cannot read es_events can."""
        sid = uuid.uuid4()
        await store.append([stream(sid, 0, 1000)])
        await store.append([stream(sid, 1000, 1000, snapshot=b"decision-state")])
        role = f"es_probe_{uuid.uuid4().hex[:8]}"
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE ROLE {role} LOGIN"))
            await conn.execute(text(f"GRANT SELECT ON es_streams TO {role}"))
        probe = create_async_engine(make_url(database_url).set(username=role, password=None))
        try:
            states = await PostgresEventStore(probe).load_states([sid])
            with pytest.raises(EventStoreError, match="permission denied"):
                await PostgresEventStore(probe).read_stream(sid, limit=1)
        finally:
            await probe.dispose()
            async with engine.begin() as conn:
                await conn.execute(text(f"DROP OWNED BY {role}"))
                await conn.execute(text(f"DROP ROLE {role}"))
        assert (2000, b"decision-state") == (states[sid].version, states[sid].snapshot)


class TestSharding:
    async def test_python_and_sql_agree(self, engine: AsyncEngine) -> None:
        """shard_of and SHARD_SQL give the same shard for the same id."""
        ids = [uuid.uuid4() for _ in range(200)] + [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)]
        shard = SHARD_SQL.format(column="u", shard_count=64)
        query = text(f"SELECT {shard} FROM unnest(CAST(:ids AS uuid[])) u")  # noqa: S608 - a library constant
        async with engine.connect() as conn:
            from_sql = [row[0] for row in await conn.execute(query, {"ids": ids})]
        assert [shard_of(i) for i in ids] == from_sql
        assert len(set(from_sql)) > 40  # spread over the shards


class TestJanitor:
    async def test_a_large_backlog_is_deleted_in_slices(self, store: PostgresEventStore, engine: AsyncEngine) -> None:
        """More expired records than one slice: all are deleted, unexpired ones stay."""
        tenant = f"janitor-{uuid.uuid4().hex}"
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO es_idempotency (tenant_id, user_id, key, request_hash, response, expires_at)"
                    " SELECT :t, 'u', k::text, 'h', 'r', now() - (CASE WHEN k <= 12000 THEN interval '1 s'"
                    " ELSE interval '-1 h' END) FROM generate_series(1, 12005) k"
                ),
                {"t": tenant},
            )
        assert await store.delete_expired_idempotency_records() >= 12000
        async with engine.connect() as conn:
            left = await conn.scalar(text("SELECT count(*) FROM es_idempotency WHERE tenant_id = :t"), {"t": tenant})
        assert 5 == left


class TestErrorTranslation:
    async def test_unreachable_database_is_transient(self) -> None:
        """A database that cannot be reached raises TransientStoreError, nothing driver-specific."""
        engine = create_async_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")
        store = PostgresEventStore(engine)
        try:
            with pytest.raises(TransientStoreError):
                await store.append([stream(uuid.uuid4(), 0)])
            with pytest.raises(TransientStoreError):
                await store.load_states([uuid.uuid4()])
        finally:
            await engine.dispose()


class TestSchema:
    async def test_migration_matches_the_table_objects(self, engine: AsyncEngine) -> None:
        """The hand-written migration 0001 creates exactly the tables described in ameide_eventstore.postgres.schema."""
        from alembic.autogenerate import compare_metadata  # noqa: PLC0415 - only this test needs it
        from alembic.migration import MigrationContext  # noqa: PLC0415

        from ameide_eventstore.postgres.schema import metadata  # noqa: PLC0415

        def ours(name: str | None, type_: str, parents: dict[str, str | None]) -> bool:
            if type_ == "schema":
                return True
            table = name if type_ == "table" else parents.get("table_name")
            return table in metadata.tables  # other areas' tables are theirs to check

        def diff(sync_conn: Any) -> list[Any]:
            context = MigrationContext.configure(sync_conn, opts={"compare_type": True, "include_name": ours})
            return list(compare_metadata(context, metadata))

        async with engine.connect() as conn:
            assert [] == await conn.run_sync(diff)
