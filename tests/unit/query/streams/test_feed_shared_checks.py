"""Heartbeat checks shared by same-key streams: one in flight, reused within the window, failures never reused."""

from __future__ import annotations

import asyncio

import pytest

from ameide_query.streams.checks import CheckResult, SharedChecks

pytestmark = pytest.mark.unit


class CountingCheck:
    """A check that waits for a gate, counts its runs and answers readable at the given head."""

    def __init__(self, head: int = 7) -> None:
        self.runs = 0
        self.gate = asyncio.Event()
        self.head = head

    async def __call__(self) -> CheckResult:
        """One run of the check."""
        self.runs += 1
        await self.gate.wait()
        return CheckResult(readable=True, head=self.head)


async def test_concurrent_checks_of_one_key_run_once_and_all_get_its_result() -> None:
    """Fifty streams heartbeating together cost one check."""
    checks, run = SharedChecks(window=3600), CountingCheck()
    waiting = [asyncio.create_task(checks.check("k", run)) for _ in range(50)]
    await asyncio.sleep(0)
    run.gate.set()
    results = await asyncio.gather(*waiting)
    assert run.runs == 1
    assert set(results) == {CheckResult(readable=True, head=7)}


async def test_a_recent_result_is_reused_within_the_window_and_not_after() -> None:
    """A result is reused inside the window only."""
    run = CountingCheck()
    run.gate.set()
    reusing, fresh = SharedChecks(window=3600), SharedChecks(window=0)
    for _ in range(3):
        await reusing.check("k", run)
    assert run.runs == 1
    for _ in range(3):
        await fresh.check("k", run)
    assert run.runs == 4


async def test_other_keys_run_their_own_checks() -> None:
    """Another user or resource never gets someone else's result."""
    checks, run = SharedChecks(window=3600), CountingCheck()
    run.gate.set()
    await checks.check(("chat", "a", "t1", "alice"), run)
    await checks.check(("chat", "a", "t1", "bob"), run)
    await checks.check(("chat", "b", "t1", "alice"), run)
    assert run.runs == 3
    assert len(checks) == 3


async def test_a_failed_check_reaches_every_waiter_and_is_not_reused() -> None:
    """A database error reaches every waiter; the next heartbeat tries again."""
    checks, attempts = SharedChecks(window=3600), 0

    async def failing() -> CheckResult:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0)
        raise ConnectionError("database unreachable")

    outcomes = await asyncio.gather(*(checks.check("k", failing) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    assert attempts == 1
    with pytest.raises(ConnectionError):
        await checks.check("k", failing)
    assert attempts == 2


async def test_a_cancelled_stream_does_not_cancel_the_check_others_wait_for() -> None:
    """Cancelling one waiter leaves the shared check running for the others."""
    checks, run = SharedChecks(window=3600), CountingCheck()
    first = asyncio.create_task(checks.check("k", run))
    second = asyncio.create_task(checks.check("k", run))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    run.gate.set()
    assert await second == CheckResult(readable=True, head=7)
    assert run.runs == 1


async def test_expired_results_are_pruned() -> None:
    """Old results do not pile up."""
    checks, run = SharedChecks(window=0), CountingCheck()
    run.gate.set()
    for n in range(200):
        await checks.check(n, run)
    assert len(checks) < 200
