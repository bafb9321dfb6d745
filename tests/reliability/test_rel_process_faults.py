"""Scenario 1: kill -9 of the command service, of one of two projector workers and of the query service under load.

Writers retry with their idempotency keys, readers read their writes with consistency tokens, followers resume
their streams with their last checkpoint tokens. Expect: nothing lost, nothing duplicated, no gap in any stream,
no wrong status code, and a read model equal to a fresh rebuild.
"""

from __future__ import annotations

import functools
import random

import pytest

from tests.reliability.auditor import Auditor
from tests.reliability.rel_chaos import Progress, gaps, inject, mixed_load
from tests.reliability.rel_client import Stubs, Tally, codec_of, new_tenant
from tests.reliability.rel_fleet import Fleet
from tests.reliability.rel_load import Ledger, build_world
from tests.reliability.rel_report import record
from tests.reliability.rel_streams import Follower, following

pytestmark = pytest.mark.reliability

SEED = 1101
WRITERS = 4
OPS = 20


async def test_kill_nine_of_each_deployable_under_load(fleet: Fleet, clients: Stubs, auditor: Auditor) -> None:
    """Seeded kill -9 of command, a projector worker and query mid-load: zero lost, duplicated, gaps, bad codes."""
    tally, ledger = Tally(), Ledger()
    violations: list[str] = []
    log: list[str] = []
    users = new_tenant(fleet, "ana", "ben", "cy")
    world = await build_world(clients, users, ledger, tally)
    codec = codec_of(fleet)
    followers = [Follower(chat_id, users[i % 3], codec, tally) for i, chat_id in enumerate(world.chats)]
    victims = ["command", "projector-2", "query"]
    random.Random(SEED).shuffle(victims)  # noqa: S311 - a reproducible fault order, not cryptography
    schedule = [
        (gap, f"kill -9 {name}", functools.partial(fleet.restart_killed, name))
        for gap, name in zip(gaps(SEED, len(victims)), victims, strict=True)
    ]

    async def chaos(progress: Progress) -> None:
        await inject(progress, schedule, log)

    async with following(followers, clients, world.tokens):
        await mixed_load(
            world, clients, ledger, tally, writers=WRITERS, ops=OPS, seed=SEED, during=chaos, violations=violations
        )
        verdict = await auditor.audit(ledger, followers=followers)
    record(
        "1 kill -9 under load",
        load=f"{WRITERS} writers x {OPS} keyed writes, 2 readers, {len(followers)} followers",
        faults="; ".join(log),
        tally=tally,
        verdict=verdict,
        notes=f"{sum(f.reconnects for f in followers)} stream resumes, {sum(f.duplicates for f in followers)} "
        f"duplicate deliveries deduped, {sum(op.replays for op in ledger.ops)} idempotent replays; codes "
        f"{dict(tally.codes)}",
    )
    assert verdict.ok, verdict.report()
    assert tally.wrong == []
    assert violations == []
    assert len(log) == len(victims)
    assert fleet.crashed() == {}
