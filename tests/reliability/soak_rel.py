"""Scenario 9, the soak (``tox -e soak``; not part of the default run, whose file pattern is ``test_*.py``).

``AMEIDE_SOAK_MINUTES`` (default 30) of mixed load with a fault every ``AMEIDE_SOAK_FAULT_EVERY`` seconds
(default 120) and ``AMEIDE_SOAK_IDLE_STREAMS`` idle subscribers (default 2000). Writes the samples, a per-minute
table and a chart to ``bench/results/soak-<time>.{json,md,png}`` (and ``soak-latest.*``). Passes when the auditor
finds nothing and no client was told a wrong status code.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_bench import soak
from tests.integration.feed.feed_redis_process import RedisProcess
from tests.reliability.auditor import Auditor
from tests.reliability.rel_client import Stubs, Tally, codec_of, new_tenant
from tests.reliability.rel_fleet import Fleet
from tests.reliability.rel_load import Ledger, build_world
from tests.reliability.rel_report import record
from tests.reliability.rel_servers import PgCluster
from tests.reliability.rel_soak import Soak
from tests.reliability.rel_streams import Follower, following

pytestmark = pytest.mark.reliability

MINUTES = float(os.environ.get("AMEIDE_SOAK_MINUTES", "30"))
FAULT_EVERY = float(os.environ.get("AMEIDE_SOAK_FAULT_EVERY", "120"))
IDLE_STREAMS = int(os.environ.get("AMEIDE_SOAK_IDLE_STREAMS", "2000"))
WRITERS = int(os.environ.get("AMEIDE_SOAK_WRITERS", "6"))
RESULTS = Path(os.environ.get("AMEIDE_SOAK_RESULTS", str(Path(__file__).resolve().parents[2] / "bench" / "results")))


@pytest.mark.timeout(int(MINUTES * 60 + 900))
async def test_soak(  # noqa: PLR0917 - pytest injects fixtures by name
    fleet: Fleet,
    pg: PgCluster,
    own_redis: RedisProcess,
    rel_engine: AsyncEngine,
    clients: Stubs,
    auditor: Auditor,
) -> None:
    """Mixed load with periodic faults for the configured time: the auditor is clean, no wrong status code."""
    setup_tally, setup_ledger = Tally(), Ledger()
    world = await build_world(
        clients, new_tenant(fleet, "soak-a", "soak-b", "soak-c"), setup_ledger, setup_tally, chats=5
    )
    quiet = await build_world(clients, world.users, setup_ledger, setup_tally, chats=5)
    run = Soak(fleet, pg, own_redis, rel_engine, clients, world)
    run.ledger.extend(setup_ledger)
    followers = [Follower(c, world.users[i % 3], codec_of(fleet), run.tally) for i, c in enumerate(world.chats)]
    async with following(followers, clients, world.tokens):
        await run.run(
            seconds=MINUTES * 60,
            fault_every=FAULT_EVERY,
            writers=WRITERS,
            idle_streams=IDLE_STREAMS,
            idle_chats=quiet.chats,
        )
        verdict = await auditor.audit(run.ledger, followers=followers)
    run.tally.merge(setup_tally)
    result = soak.SoakResult(
        minutes=MINUTES,
        samples=run.samples,
        faults=run.faults,
        verdict={"ok": verdict.ok, **{k: len(v) for k, v in verdict.problems().items()}, "acked": verdict.acked},
        totals={
            "requests": run.tally.requests,
            "acknowledged writes": len(run.ledger.acked()),
            "codes": dict(run.tally.codes),
            "wrong codes": run.tally.wrong_count,
            "faults": len(run.faults),
            **soak.summary(run.samples),
        },
    )
    stem = f"soak-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    for path in soak.write(result, RESULTS, stem):
        shutil.copyfile(path, path.with_name(path.name.replace(stem, "soak-latest")))
    record(
        "9 soak",
        load=f"{MINUTES:g} min, {WRITERS} writers, 2 readers, {len(followers)} followers, {IDLE_STREAMS} idle streams",
        faults=f"{len(run.faults)} faults, one every {FAULT_EVERY:g}s",
        tally=run.tally,
        verdict=verdict,
        notes=f"results in {RESULTS}/{stem}.*; {soak.summary(run.samples)}",
    )
    assert verdict.ok, verdict.report()
    assert run.tally.wrong == []
    assert run.violations == []
    assert fleet.crashed() == {}
