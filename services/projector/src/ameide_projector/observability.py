"""What the projector reports: outbox backlog and consumer metrics (Prometheus), and the traces it continues.

- ``OutboxSampler`` samples the outbox (depth, age of the oldest row, dead letters) every few seconds: the
  projection lag in events and in seconds, visible even while every worker is stuck.
- ``PrometheusConsumerMetrics`` is the outbox consumer's metrics sink: batches, parked events, shard ownership.
- ``traced_batch`` wraps one batch: a ``projector.batch`` span (current while the batch applies, linked to the
  events' traces), and for every sampled trace among the events a ``projector.project`` span whose parent is the
  ``traceparent`` the command wrote into the event's metadata; the after-commit publish (which queues the
  entries) gets ``feed.publish`` spans under both.
- ``PublishTraces`` carries the context of each queued publish to the background task that sends it to Redis:
  its ``feed.xadd`` span is a child of the first queued publish it sends and links to the others.
So one trace reads: RPC -> ``eventstore.append`` -> ``projector.project`` -> ``feed.publish`` -> ``feed.xadd``
-> the Redis script call. Events of unsampled traces (tracing off: the default) cost no span at all.

Gauges say how ``serve projector --workers N`` processes combine (``multiprocess_mode``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from prometheus_client import Counter, Gauge, Histogram

from ameide_eventstore import AfterCommit, RecordedEvent
from ameide_eventstore.consumer import OutboxStats
from ameide_runtime.telemetry import extract_trace_context

_log = logging.getLogger(__name__)
_tracer = trace.get_tracer("ameide_projector")
_TRACEPARENT_CHARS = 55
_SAMPLED_DIGITS = frozenset("13579bdfBDF")

OUTBOX_DEPTH = Gauge(
    "ameide_outbox_depth", "Outbox rows not yet projected: the projection lag in events.", multiprocess_mode="livemax"
)
OUTBOX_OLDEST_AGE = Gauge(
    "ameide_outbox_oldest_age_seconds",
    "Age of the oldest outbox row not yet projected (0 when empty): the projection lag in seconds.",
    multiprocess_mode="livemax",
)
DEAD_LETTERS = Gauge(
    "ameide_outbox_dead_letters", "Events parked in es_dead_letters (all time).", multiprocess_mode="livemax"
)
STATS_FAILURES = Counter("ameide_outbox_stats_failures_total", "Outbox samples that failed (database unreachable).")
LAG = Histogram(
    "ameide_projector_lag_seconds",
    "Per batch, the time from its oldest event's append to the batch's projection.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0),
)
BATCH_SECONDS = Histogram(
    "ameide_projector_batch_seconds",
    "Time to claim, apply and commit one outbox batch.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
BATCH_EVENTS = Histogram(
    "ameide_projector_batch_events",
    "Events per applied outbox batch (above the configured size while a backlog drains).",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 4000),
)
EVENTS_PARKED = Counter(
    "ameide_projector_events_parked_total", "Poison events parked in es_dead_letters, by type.", ["event_type"]
)
SHARDS_OWNED = Gauge("ameide_projector_shards_owned", "Outbox shards this process owns.", multiprocess_mode="livesum")
SHARDS_HALTED = Gauge(
    "ameide_projector_shards_halted",
    "Shards stopped on a poison event (AMEIDE_PROJECTOR_ON_ERROR=halt) until a restart.",
    multiprocess_mode="livesum",
)


class PrometheusConsumerMetrics:
    """The outbox consumer's ``ConsumerMetrics`` sink, as Prometheus metrics."""

    def batch_applied(self, size: int, seconds: float) -> None:
        """Observe the batch's size and duration."""
        BATCH_EVENTS.observe(size)
        BATCH_SECONDS.observe(seconds)

    def event_parked(self, event_type: str, shard: int) -> None:  # noqa: ARG002 - a label per shard is too many
        """Count the parked event by type."""
        EVENTS_PARKED.labels(event_type).inc()

    def shard_halted(self, shard: int) -> None:  # noqa: ARG002 - the count is what alerts need
        """One more halted shard."""
        SHARDS_HALTED.inc()

    def shards_owned(self, count: int) -> None:
        """Ownership changed."""
        SHARDS_OWNED.set(count)


class OutboxSampler:
    """Samples ``stats()`` (the consumer's) every ``interval`` seconds into the outbox gauges."""

    def __init__(self, stats: Callable[[], Awaitable[OutboxStats]], *, interval: float = 5.0) -> None:
        self._stats = stats
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def sample(self) -> OutboxStats | None:
        """Take one sample; ``None`` (and a counted failure) when the database does not answer."""
        try:
            stats = await self._stats()
        except Exception as exc:  # noqa: BLE001 - a metrics loop must survive whatever the database does
            STATS_FAILURES.inc()
            _log.warning("outbox stats unavailable: %s", exc)
            return None
        OUTBOX_DEPTH.set(stats.depth)
        OUTBOX_OLDEST_AGE.set(stats.oldest_age_seconds)
        DEAD_LETTERS.set(stats.dead_letters)
        return stats

    def start(self) -> None:
        """Start sampling in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="outbox-stats")

    async def stop(self) -> None:
        """Stop sampling."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(self._interval)


def _sampled_traces(events: Sequence[RecordedEvent]) -> dict[str, list[RecordedEvent]]:
    """The events of sampled traces, grouped by traceparent (one cheap pass: no parsing of unsampled ones)."""
    groups: dict[str, list[RecordedEvent]] = {}
    for event in events:
        # "00-<trace id>-<parent id>-<flags>": the sampled flag is the low bit of the last hex digit.
        traceparent = event.metadata.get("traceparent")
        if traceparent and len(traceparent) == _TRACEPARENT_CHARS and traceparent[-1] in _SAMPLED_DIGITS:
            groups.setdefault(traceparent, []).append(event)
    return groups


@dataclass(slots=True)
class TracedBatch:
    """The spans of one batch (see the module docstring)."""

    batch: Span
    projections: list[Span] = field(default_factory=list)

    def after_commit(self, callback: AfterCommit | None) -> AfterCommit | None:
        """Wrap the after-commit publish in ``feed.publish`` spans (under the batch and each projection)."""
        if callback is None:
            return None
        # The first span is current while publishing, so the Redis call nests under it: in a batch of one trace
        # (the usual case below full load) that is the trace of the RPC that wrote the event.
        parents = [*self.projections, self.batch]

        async def publish() -> None:
            spans = [
                _tracer.start_span("feed.publish", context=trace.set_span_in_context(p), kind=SpanKind.PRODUCER)
                for p in parents
            ]
            try:
                with trace.use_span(spans[0], end_on_exit=False):
                    await callback()
            finally:
                for span in spans:
                    span.end()

        return publish


def _projection_spans(groups: dict[str, list[RecordedEvent]], batch: Span) -> list[Span]:
    spans = []
    for group in groups.values():
        span = _tracer.start_span(
            "projector.project",
            context=extract_trace_context(group[0].metadata),
            kind=SpanKind.CONSUMER,
            links=[Link(batch.get_span_context())],
        )
        if span.is_recording():
            span.set_attribute("ameide.events", len(group))
            span.set_attribute("ameide.event_types", sorted({e.event_type for e in group}))
            span.set_attribute("ameide.stream_ids", sorted({str(e.stream_id) for e in group})[:20])
            span.set_attribute("ameide.global_positions", [e.global_position for e in group][:20])
        spans.append(span)
    return spans


def _links(groups: dict[str, list[RecordedEvent]], limit: int = 32) -> list[Link]:
    contexts = (extract_trace_context(group[0].metadata) for group in list(groups.values())[:limit])
    return [Link(trace.get_current_span(context).get_span_context()) for context in contexts]


class PublishTraces:
    """The trace contexts of queued publishes, in queue order (see the module docstring)."""

    def __init__(self) -> None:
        self._queued: deque[tuple[int, otel_context.Context]] = deque()

    def queued(self, count: int) -> None:
        """``count`` entries were queued in the current context."""
        if count:
            self._queued.append((count, otel_context.get_current()))

    def _take(self, count: int) -> list[otel_context.Context]:
        taken = []
        while count > 0 and self._queued:
            queued, context = self._queued.popleft()
            taken.append(context)
            if queued > count:
                self._queued.appendleft((queued - count, context))
            count -= queued
        return taken

    @contextlib.contextmanager
    def sending(self, count: int) -> Iterator[None]:
        """Run the send of the next ``count`` queued entries in a ``feed.xadd`` span continuing their traces."""
        contexts = self._take(count)
        links = [Link(trace.get_current_span(c).get_span_context()) for c in contexts[1:33]]
        parent = contexts[0] if contexts else None
        span = _tracer.start_span("feed.xadd", context=parent, kind=SpanKind.PRODUCER, links=links)
        if span.is_recording():
            span.set_attribute("ameide.entries", count)
        with trace.use_span(span, end_on_exit=True):
            yield


def observe_lag(events: Sequence[RecordedEvent], now: dt.datetime | None = None) -> None:
    """Observe the batch's lag: the time from its oldest event's append to its projection (one observation)."""
    if events:
        oldest = min(event.recorded_at for event in events)
        LAG.observe(max(0.0, ((now or dt.datetime.now(dt.UTC)) - oldest).total_seconds()))


@contextlib.contextmanager
def traced_batch(events: Sequence[RecordedEvent]) -> Iterator[TracedBatch]:
    """Spans around one batch; on success the batch's lag is observed; an error marks every span."""
    groups = _sampled_traces(events)
    batch = _tracer.start_span("projector.batch", kind=SpanKind.CONSUMER, links=_links(groups))
    if batch.is_recording() and events:
        batch.set_attribute("ameide.events", len(events))
        batch.set_attribute("ameide.first_position", events[0].global_position)
        batch.set_attribute("ameide.last_position", events[-1].global_position)
    traced = TracedBatch(batch, _projection_spans(groups, batch))
    try:
        with trace.use_span(batch, end_on_exit=False):
            yield traced
    except BaseException as exc:
        for span in (batch, *traced.projections):
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    else:
        observe_lag(events)
    finally:
        for span in (*traced.projections, batch):
            span.end()
