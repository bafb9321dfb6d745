"""Types shared by the outbox consumers: stats, the metrics sink, the poison-event policy."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, Protocol

from ameide_eventstore.ports import AfterCommit

logger = logging.getLogger(__name__)

# What a consumer does with an event whose handler keeps failing: park it in the dead-letter table and go on,
# or halt the event's shard (the other shards go on).
OnError = Literal["park", "halt"]

_KEPT_SIZES = 10_000


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """Backlog of the outbox, for metrics and alerts.

    Attributes:
        depth: Outbox rows not yet applied.
        oldest_age_seconds: Age of the oldest unapplied row (0 when empty): the projection lag.
        dead_letters: Events parked so far.
    """

    depth: int
    oldest_age_seconds: float
    dead_letters: int


class ConsumerMetrics(Protocol):
    """Where a consumer reports what it does (adapt to Prometheus/OpenTelemetry outside the library)."""

    def batch_applied(self, size: int, seconds: float) -> None:
        """A batch of ``size`` events was applied and committed in ``seconds``."""

    def event_parked(self, event_type: str, shard: int) -> None:
        """A poison event was parked in the dead-letter table."""

    def shard_halted(self, shard: int) -> None:
        """A shard stopped on a poison event (``on_error="halt"``)."""

    def shards_owned(self, count: int) -> None:
        """This worker now owns ``count`` shards."""


class NullMetrics:
    """Discards every report (the default sink)."""

    def batch_applied(self, size: int, seconds: float) -> None:
        """Ignore."""

    def event_parked(self, event_type: str, shard: int) -> None:
        """Ignore."""

    def shard_halted(self, shard: int) -> None:
        """Ignore."""

    def shards_owned(self, count: int) -> None:
        """Ignore."""


class CountingMetrics:
    """Keeps simple totals in attributes (handy for tests, benchmarks and a scrape-time collector)."""

    def __init__(self) -> None:
        self.batches = 0
        self.events = 0
        self.apply_seconds = 0.0
        self.batch_sizes: list[int] = []
        self.parked = 0
        self.halted: set[int] = set()
        self.owned = 0

    def batch_applied(self, size: int, seconds: float) -> None:
        """Count the batch."""
        self.batches += 1
        self.events += size
        self.apply_seconds += seconds
        if len(self.batch_sizes) < _KEPT_SIZES:  # bounded: a histogram sink is the production choice
            self.batch_sizes.append(size)

    def event_parked(self, event_type: str, shard: int) -> None:  # noqa: ARG002 - totals only
        """Count the parked event."""
        self.parked += 1

    def shard_halted(self, shard: int) -> None:
        """Remember the halted shard."""
        self.halted.add(shard)

    def shards_owned(self, count: int) -> None:
        """Remember the current ownership."""
        self.owned = count


async def run_after_commit(after_commit: AfterCommit | None) -> None:
    """Run a batch's after-commit callback; a failure is logged, never allowed to stop the consumer.

    The batch is already committed, so re-applying it would be wrong and stopping would turn a Redis outage (say,
    while publishing a hint) into a projection outage.
    """
    if after_commit is None:
        return
    try:
        await after_commit()
    except Exception:
        logger.exception("after-commit callback failed (the batch itself is committed)")
