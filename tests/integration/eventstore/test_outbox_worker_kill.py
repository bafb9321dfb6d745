import asyncio
import contextlib
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ameide_eventstore import RecordedEvent
from ameide_eventstore.postgres import PostgresEventStore, PostgresOutboxConsumer
from ameide_eventstore.testing import stream, wait_until
from ameide_eventstore.testing.consumer_contract import running
from tests.integration.eventstore.eventstore_outbox_worker import apply
from tests.integration.eventstore.test_postgres_outbox import applied_rows

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


async def eventually(condition: Callable[[], Awaitable[bool]], attempts: int = 3000) -> None:
    """Poll an async condition (bounded)."""
    for _ in range(attempts):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


class TestWorkerKilledMidBatch:
    async def test_shards_move_and_nothing_is_applied_twice_or_lost(
        self, outbox_database_url: str, clean_outbox: AsyncEngine, tmp_path: Path
    ) -> None:
        """SIGKILL a worker process inside a batch: another worker takes its shards and applies every event once."""
        marker, last_line = tmp_path / "in-batch", [""]
        with (tmp_path / "stderr").open("wb") as stderr:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.integration.eventstore.eventstore_outbox_worker",
                outbox_database_url,
                str(marker),
                cwd=REPO,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )

        async def follow() -> None:
            assert proc.stdout is not None
            async for line in proc.stdout:
                last_line[0] = line.decode().strip()

        follower = asyncio.create_task(follow())
        try:
            await wait_until(lambda: last_line[0] == "owned 64")
            store = PostgresEventStore(clean_outbox)
            streams = [uuid.uuid4() for _ in range(20)]
            for sid in streams:
                await store.append([stream(sid, 0, 3)])
            for sid in streams:
                await store.append([stream(sid, 3, 2)])
            await wait_until(marker.exists)
            in_flight = {uuid.UUID(i) for i in marker.read_text().split(",")}

            survivor = PostgresOutboxConsumer(
                clean_outbox, worker_id="survivor", poll_interval=0.005, max_poll_interval=0.05, rebalance_interval=0.05
            )

            async def handler(conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
                await apply(conn, events, "survivor")

            async with running(survivor, handler):
                proc.send_signal(signal.SIGKILL)
                await proc.wait()

                async def all_applied() -> bool:
                    return len(await applied_rows(clean_outbox)) >= 100

                await eventually(all_applied)
                await wait_until(lambda: len(survivor.owned_shards) == 64)
            rows = await applied_rows(clean_outbox)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        assert in_flight
        assert in_flight <= {r[0] for r in rows}  # the killed batch was rolled back, then applied by the survivor
        assert 100 == len(rows) == len({r[0] for r in rows})
        for sid in streams:
            assert [1, 2, 3, 4, 5] == sorted(v for _, s, v in rows if s == sid)
        assert (0, 0) == ((await survivor.stats()).depth, (await survivor.stats()).dead_letters)
