"""``ameide projector rebuild``: replay the whole event log into fresh tables beside the live ones, then swap.

1. Build: create ``rm_build_<n>`` and replay ``read_all`` into it, batch by batch, while the live projector keeps
   serving (nothing live is touched). A second pass picks up what arrived meanwhile.
2. Swap, in one transaction: lock projector batches out (advisory lock every batch holds in shared mode), bring
   both sides to the same stream versions — streams the live model is ahead on are replayed into the build;
   streams the build is ahead on are applied to the live tables with their live-update feed entries, so no
   subscriber misses an update — then move the live tables to ``rm_retired_<n>`` and the built ones into
   ``public``. Events still in the outbox are applied by the live projector afterwards (the version guard skips
   what the build already has).
3. Drop the retired tables (unless ``--keep-old``).

Unknown event types are skipped; events that cannot be projected are skipped and counted, exactly as the live
projector parks them, so the result equals the incrementally built model.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ameide_eventstore import EventStore, RecordedEvent
from ameide_eventstore.postgres import PostgresEventStore
from ameide_projector.config import ProjectorSettings
from ameide_projector.feed.writer import append_feed_entries
from ameide_projector.read_model import blue_green
from ameide_projector.runner import ReadModelProjector

logger = logging.getLogger(__name__)

SWAP_ATTEMPTS = 5


@dataclass(slots=True)
class RebuildReport:
    """What a rebuild did."""

    events: int = 0
    skipped: int = 0
    reconciled_streams: int = 0
    build_schema: str = ""
    retired_schema: str = ""
    seconds: float = 0.0


async def apply_skipping(conn: AsyncConnection, handler: ReadModelProjector, events: Sequence[RecordedEvent]) -> int:
    """Apply ``events`` in a savepoint; when that fails, one by one, skipping (and counting) the failing ones."""
    if not events:
        return 0
    try:
        async with conn.begin_nested():
            await handler(conn, events)
    except Exception:  # noqa: BLE001 - a poison event is skipped like the live projector parks it
        skipped = 0
        for event in events:
            try:
                async with conn.begin_nested():
                    await handler(conn, [event])
            except Exception:  # noqa: BLE001 - as above, per event
                skipped += 1
                logger.warning("rebuild skipped event at position %d (%s)", event.global_position, event.event_type)
        return skipped
    return 0


class Rebuild:
    """One blue/green rebuild; the steps are separate so tests can interleave writes between them."""

    def __init__(
        self, engine: AsyncEngine, store: EventStore, *, batch_size: int = 2000, token: str | None = None
    ) -> None:
        token = token or uuid.uuid4().hex[:12]
        self._engine = engine
        self._store = store
        self._batch_size = batch_size
        self._position = 0
        self._silent = ReadModelProjector()
        self._feeding = ReadModelProjector(append_feed=append_feed_entries)
        self.report = RebuildReport(
            build_schema=blue_green.build_schema_name(token), retired_schema=blue_green.retired_schema_name(token)
        )

    async def create(self) -> None:
        """Create the empty build tables."""
        async with self._engine.begin() as conn:
            await blue_green.create_build_schema(conn, self.report.build_schema)

    async def replay(self) -> int:
        """Replay the log from where the last call stopped into the build tables; return how many events."""
        applied = 0
        while events := await self._store.read_all(after_position=self._position, limit=self._batch_size):
            async with self._engine.begin() as conn:
                build = await blue_green.translated(conn, self.report.build_schema)
                self.report.skipped += await apply_skipping(build, self._silent, events)
            self._position = events[-1].global_position
            applied += len(events)
        self.report.events += applied
        return applied

    async def swap(self, *, keep_old: bool = False) -> None:
        """Reconcile both sides and swap them (retrying a swap that could not get its locks in time)."""
        for attempt in range(1, SWAP_ATTEMPTS + 1):
            try:
                async with self._engine.begin() as conn:
                    await blue_green.lock_out_projectors(conn)
                    await self._reconcile(conn)
                    await blue_green.swap(conn, self.report.build_schema, self.report.retired_schema)
                break
            except OperationalError:
                if attempt == SWAP_ATTEMPTS:
                    raise
                logger.warning("rebuild swap attempt %d timed out waiting for locks; retrying", attempt)
                await asyncio.sleep(attempt)
        if not keep_old:
            await self.drop(self.report.retired_schema)

    async def _reconcile(self, conn: AsyncConnection) -> None:
        live_ahead, build_ahead = await blue_green.version_diff(conn, self.report.build_schema)
        build = await blue_green.translated(conn, self.report.build_schema)
        for stream_id, (built, live) in live_ahead.items():
            events = await self._events(stream_id, after=built, upto=live)
            self.report.skipped += await apply_skipping(build, self._silent, events)
        # Bring the live tables up as well: these updates then reach the feeds (the live projector will skip them).
        live_conn = await conn.execution_options(schema_translate_map=None)
        for stream_id, (live, built) in build_ahead.items():
            events = await self._events(stream_id, after=live, upto=built)
            await apply_skipping(live_conn, self._feeding, events)
        self.report.reconciled_streams = len(live_ahead) + len(build_ahead)

    async def _events(self, stream_id: uuid.UUID, *, after: int, upto: int) -> list[RecordedEvent]:
        events = await self._store.read_stream(stream_id, from_version=after + 1)
        return [e for e in events if e.version <= upto]

    async def drop(self, schema: str) -> None:
        """Drop a build or retired schema."""
        async with self._engine.begin() as conn:
            await blue_green.drop_schema(conn, schema)

    async def run(self, *, keep_old: bool = False) -> RebuildReport:
        """All steps; on failure the build schema is dropped and the live model is left as it was."""
        started = time.monotonic()
        await self.create()
        try:
            await self.replay()
            await self.replay()
            await self.swap(keep_old=keep_old)
        except BaseException:
            await self.drop(self.report.build_schema)
            raise
        self.report.seconds = time.monotonic() - started
        return self.report


async def rebuild(database_url: str, *, batch_size: int, keep_old: bool) -> RebuildReport:
    """Rebuild the read model of the database at ``database_url``."""
    engine = create_async_engine(database_url, pool_size=2, max_overflow=2)
    try:
        return await Rebuild(engine, PostgresEventStore(engine), batch_size=batch_size).run(keep_old=keep_old)
    finally:
        await engine.dispose()


def main(argv: list[str]) -> int:
    """Entry point of ``ameide projector rebuild`` (database from AMEIDE_DATABASE_URL)."""
    parser = argparse.ArgumentParser(prog="ameide projector rebuild", description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=2000, help="events per replay transaction")
    parser.add_argument("--keep-old", action="store_true", help="keep the replaced tables in rm_retired_<n>")
    args = parser.parse_args(argv)
    settings = ProjectorSettings.from_env(os.environ)
    logging.basicConfig(level=settings.server.log_level)
    report = asyncio.run(
        rebuild(settings.stores.require_database(), batch_size=args.batch_size, keep_old=args.keep_old)
    )
    sys.stdout.write(
        f"rebuilt the read model from {report.events} events in {report.seconds:.1f}s "
        f"({report.skipped} skipped, {report.reconciled_streams} streams reconciled at the swap)\n"
    )
    if args.keep_old:
        sys.stdout.write(f"previous tables kept in schema {report.retired_schema}\n")
    return 0
