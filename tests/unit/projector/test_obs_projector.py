"""The projector's spans (continuing the traces in event metadata) and its outbox and consumer metrics."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import REGISTRY

from ameide_eventstore import RecordedEvent
from ameide_eventstore.consumer import OutboxStats
from ameide_projector import observability

pytestmark = pytest.mark.unit

SAMPLED = "00-{trace}-{span}-01"
UNSAMPLED = "00-{trace}-{span}-00"
NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(name="spans")
def fixture_spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """The projector's tracer, recording into memory (the process-wide provider stays untouched)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(observability, "_tracer", provider.get_tracer("test"))
    yield exporter
    provider.shutdown()


def _event(position: int, traceparent: str = "") -> RecordedEvent:
    metadata = {"traceparent": traceparent} if traceparent else {}
    return RecordedEvent(
        global_position=position,
        stream_id=uuid.uuid4(),
        stream_type="chat",
        tenant_id="t1",
        version=1,
        event_id=uuid.uuid4(),
        event_type="ameide_core_proto.threads.v1.MessageSentEvent",
        schema_version=1,
        payload=b"",
        metadata=metadata,
        recorded_at=NOW - dt.timedelta(seconds=position),
    )


def _traceparent(template: str, trace_id: int, span_id: int) -> str:
    return template.format(trace=format(trace_id, "032x"), span=format(span_id, "016x"))


def _named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


class TestBatchSpans:
    async def test_sampled_events_continue_their_trace_through_the_publish(self, spans: InMemorySpanExporter) -> None:
        """One projection span per sampled trace, parented on the event's traceparent; publish spans under it."""
        events = [
            _event(1, _traceparent(SAMPLED, 0xA1, 0xB1)),
            _event(2, _traceparent(SAMPLED, 0xA1, 0xB1)),
            _event(3, _traceparent(SAMPLED, 0xA2, 0xB2)),
            _event(4, _traceparent(UNSAMPLED, 0xA3, 0xB3)),
            _event(5),
        ]
        published: list[int] = []

        async def publish() -> None:
            published.append(trace.get_current_span().get_span_context().trace_id)

        with observability.traced_batch(events) as traced:
            after_commit = traced.after_commit(publish)
        assert after_commit is not None
        await after_commit()

        projections = {s.context.trace_id: s for s in _named(spans, "projector.project")}
        assert sorted(projections) == [0xA1, 0xA2]
        assert projections[0xA1].parent is not None
        assert projections[0xA1].parent.span_id == 0xB1
        assert projections[0xA1].attributes is not None
        assert projections[0xA1].attributes["ameide.events"] == 2
        (batch,) = _named(spans, "projector.batch")
        assert {link.context.trace_id for link in batch.links} == {0xA1, 0xA2}
        publishes = _named(spans, "feed.publish")
        parents = {s.parent.span_id for s in publishes if s.parent is not None}
        assert parents == {batch.context.span_id, *(p.context.span_id for p in projections.values())}
        # The Redis call runs under the first projection's publish span: in that trace.
        assert published == [0xA1]

    def test_unsampled_events_cost_no_projection_span(self, spans: InMemorySpanExporter) -> None:
        """With tracing off upstream (flags 00) only the batch span exists."""
        with observability.traced_batch([_event(1, _traceparent(UNSAMPLED, 0xA1, 0xB1))]) as traced:
            assert traced.after_commit(None) is None
        assert [s.name for s in spans.get_finished_spans()] == ["projector.batch"]

    def test_a_failing_batch_marks_its_spans(self, spans: InMemorySpanExporter) -> None:
        """The error is recorded on the batch and on each projection span, and still raised."""
        events = [_event(1, _traceparent(SAMPLED, 0xA1, 0xB1))]
        with pytest.raises(RuntimeError, match="boom"), observability.traced_batch(events):
            raise RuntimeError("boom")
        statuses = {s.name: s.status.status_code for s in spans.get_finished_spans()}
        assert statuses == {"projector.batch": StatusCode.ERROR, "projector.project": StatusCode.ERROR}

    @pytest.mark.parametrize("traceparent", ["00-zz-yy-01", "00-" + "a" * 32 + "-" + "b" * 16 + "-zz", "garbage"])
    def test_malformed_traceparents_are_ignored(self, spans: InMemorySpanExporter, traceparent: str) -> None:
        """A broken traceparent in old metadata never fails a batch."""
        with observability.traced_batch([_event(1, traceparent)]):
            pass
        assert [s.name for s in spans.get_finished_spans()] == ["projector.batch"]


def _sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


class TestMetrics:
    def test_lag_is_observed_per_batch_from_its_oldest_event(self) -> None:
        """One observation per batch: how long its oldest event waited to be projected (cheap on 500 events)."""
        count, total = _sample("ameide_projector_lag_seconds_count"), _sample("ameide_projector_lag_seconds_sum")
        observability.observe_lag([_event(2), _event(3), _event(1)], now=NOW)
        observability.observe_lag([], now=NOW)
        assert _sample("ameide_projector_lag_seconds_count") == count + 1
        assert _sample("ameide_projector_lag_seconds_sum") == pytest.approx(total + 3)

    def test_consumer_reports_become_prometheus_metrics(self) -> None:
        """Batches, parked events, halted and owned shards."""
        sink = observability.PrometheusConsumerMetrics()
        batches = _sample("ameide_projector_batch_events_count")
        parked = _sample("ameide_projector_events_parked_total", {"event_type": "x.Poison"})
        halted = _sample("ameide_projector_shards_halted")
        sink.batch_applied(7, 0.02)
        sink.event_parked("x.Poison", shard=3)
        sink.shard_halted(5)
        sink.shards_owned(21)
        assert _sample("ameide_projector_batch_events_count") == batches + 1
        assert _sample("ameide_projector_events_parked_total", {"event_type": "x.Poison"}) == parked + 1
        assert _sample("ameide_projector_shards_halted") == halted + 1
        assert _sample("ameide_projector_shards_owned") == 21

    async def test_outbox_sample_sets_the_gauges(self) -> None:
        """Depth, oldest age and dead letters come from the consumer's stats."""

        async def stats() -> OutboxStats:
            return OutboxStats(depth=42, oldest_age_seconds=3.5, dead_letters=2)

        assert await observability.OutboxSampler(stats).sample() == OutboxStats(42, 3.5, 2)
        assert _sample("ameide_outbox_depth") == 42
        assert _sample("ameide_outbox_oldest_age_seconds") == 3.5
        assert _sample("ameide_outbox_dead_letters") == 2

    async def test_a_failed_sample_is_counted_and_survived(self) -> None:
        """The database being away costs one counted failure, not the sampler."""

        async def stats() -> OutboxStats:
            raise OSError("connection refused")

        failures = _sample("ameide_outbox_stats_failures_total")
        sampler = observability.OutboxSampler(stats, interval=3600)
        assert await sampler.sample() is None
        assert _sample("ameide_outbox_stats_failures_total") == failures + 1
        sampler.start()
        await sampler.stop()


class TestPublishTraces:
    def test_background_send_continues_the_first_queued_publish_and_links_the_rest(
        self, spans: InMemorySpanExporter
    ) -> None:
        """Chunks need not match the queued publishes: each send takes the contexts of the entries it carries."""
        traces = observability.PublishTraces()
        tracer = observability._tracer
        queued = []
        for name, count in (("first", 2), ("second", 3), ("third", 1)):
            with tracer.start_as_current_span(name) as span:
                traces.queued(count)
                queued.append(span.get_span_context())
        with traces.sending(3):  # the first publish and one entry of the second
            pass
        with traces.sending(3):  # the rest of the second and the third
            pass
        first, second = _named(spans, "feed.xadd")
        assert first.parent is not None
        assert (first.parent.span_id, [link.context.span_id for link in first.links]) == (
            queued[0].span_id,
            [queued[1].span_id],
        )
        assert second.parent is not None
        assert (second.parent.span_id, [link.context.span_id for link in second.links]) == (
            queued[1].span_id,
            [queued[2].span_id],
        )
