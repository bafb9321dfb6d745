"""Tracing configuration from the standard OTEL_* variables, the root-CLIENT filter, and the JSON-lines file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Decision
from opentelemetry.trace import SpanKind

from ameide_runtime.settings import SettingsError
from ameide_runtime.telemetry import inject_trace_context
from ameide_runtime.telemetry_export import (
    JsonLinesSpanExporter,
    exporter_names,
    sampler_from_env,
    span_processors,
)

pytestmark = pytest.mark.unit


class TestExporters:
    @pytest.mark.parametrize(
        ("environ", "expected"),
        [
            ({}, []),
            ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}, ["otlp"]),
            ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, ["otlp"]),
            ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, []),
            ({"OTEL_TRACES_EXPORTER": "console, otlp"}, ["console", "otlp"]),
        ],
    )
    def test_off_by_default_on_with_an_endpoint_or_exporter(self, environ: dict[str, str], expected: list[str]) -> None:
        """No exporter unless an OTLP endpoint or OTEL_TRACES_EXPORTER asks for one."""
        assert exporter_names(environ) == expected

    def test_unknown_exporter_names_the_variable(self) -> None:
        """A typo fails at start instead of silently tracing nothing."""
        with pytest.raises(SettingsError, match="OTEL_TRACES_EXPORTER"):
            exporter_names({"OTEL_TRACES_EXPORTER": "jaeger"})

    @pytest.mark.parametrize(("protocol", "kind"), [("grpc", GrpcExporter), ("http/protobuf", HttpExporter)])
    def test_otlp_protocol_picks_the_exporter(self, protocol: str, kind: type) -> None:
        """OTEL_EXPORTER_OTLP_PROTOCOL selects gRPC or HTTP/protobuf, batched."""
        environ = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": protocol}
        processors = span_processors(environ)
        try:
            assert [type(p) for p in processors] == [BatchSpanProcessor]
            assert isinstance(processors[0].span_exporter, kind)  # type: ignore[attr-defined]
        finally:
            for processor in processors:
                processor.shutdown()

    def test_unsupported_protocol_is_refused(self) -> None:
        """http/json has no exporter here: say so."""
        with pytest.raises(SettingsError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
            span_processors({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})

    def test_trace_file_is_an_immediate_processor(self, tmp_path: Path) -> None:
        """AMEIDE_TRACE_FILE alone turns tracing on, writing each span when it ends."""
        processors = span_processors({}, trace_file=str(tmp_path / "spans.jsonl"))
        assert [type(p) for p in processors] == [SimpleSpanProcessor]
        processors[0].shutdown()


def _decision(sampler_env: dict[str, str], kind: SpanKind, *, parent: bool, sampled: bool = True) -> Decision:
    sampler = sampler_from_env(sampler_env, exporting=True)
    context = None
    if parent:
        flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if sampled else trace.TraceFlags.DEFAULT)
        span_context = trace.SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=flags)
        context = trace.set_span_in_context(trace.NonRecordingSpan(span_context))
    return sampler.should_sample(context, 0xABC, "x", kind).decision


class TestSampler:
    def test_nothing_is_recorded_when_nothing_exports(self) -> None:
        """Without an exporter spans keep their ids (for logs and event metadata) but are never recorded."""
        assert sampler_from_env({"OTEL_TRACES_SAMPLER": "always_on"}, exporting=False) is ALWAYS_OFF

    def test_root_client_spans_are_dropped_others_follow_the_configured_sampler(self) -> None:
        """A background database or Redis call starts no trace; requests and their children are recorded."""
        assert _decision({}, SpanKind.CLIENT, parent=False) == Decision.DROP
        assert _decision({}, SpanKind.SERVER, parent=False) == Decision.RECORD_AND_SAMPLE
        assert _decision({}, SpanKind.CLIENT, parent=True) == Decision.RECORD_AND_SAMPLE
        assert _decision({}, SpanKind.CLIENT, parent=True, sampled=False) == Decision.DROP

    def test_ratio_samplers(self) -> None:
        """The ratio samplers (plain and parent-based) read OTEL_TRACES_SAMPLER_ARG."""
        off = {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}
        assert _decision(off, SpanKind.SERVER, parent=False) == Decision.DROP
        parent_based = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}
        assert _decision(parent_based, SpanKind.SERVER, parent=True) == Decision.RECORD_AND_SAMPLE

    @pytest.mark.parametrize(
        "environ",
        [
            {"OTEL_TRACES_SAMPLER": "sometimes"},
            {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"},
            {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
        ],
    )
    def test_invalid_sampler_settings_name_the_variable(self, environ: dict[str, str]) -> None:
        """Bad sampler settings fail at start."""
        with pytest.raises(SettingsError, match="OTEL_TRACES_SAMPLER"):
            sampler_from_env(environ, exporting=True)


class TestJsonLinesFile:
    def test_every_span_is_one_json_line_with_ids_parent_and_links(self, tmp_path: Path) -> None:
        """Two processes' exporters can share the file; each line carries what a trace assertion needs."""
        path = tmp_path / "spans.jsonl"
        providers = [TracerProvider(), TracerProvider()]
        for provider in providers:
            provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(str(path))))
        first, second = (p.get_tracer("test") for p in providers)
        with first.start_as_current_span("rpc", kind=SpanKind.SERVER) as rpc:
            with second.start_as_current_span("child", attributes={"ameide.events": 2}):
                pass
            link = trace.Link(rpc.get_span_context())
        second.start_span("linked", links=[link]).end()
        for provider in providers:
            provider.shutdown()
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        by_name = {line["name"]: line for line in lines}
        assert sorted(by_name) == ["child", "linked", "rpc"]
        rpc_line, child, linked = by_name["rpc"], by_name["child"], by_name["linked"]
        assert child["trace_id"] == rpc_line["trace_id"]
        assert child["parent_span_id"] == rpc_line["span_id"]
        assert child["attributes"] == {"ameide.events": 2}
        assert rpc_line["kind"] == "SERVER"
        assert rpc_line["parent_span_id"] == ""
        assert linked["links"] == [{"trace_id": rpc_line["trace_id"], "span_id": rpc_line["span_id"]}]
        assert rpc_line["start_ns"] <= rpc_line["end_ns"]

    def test_a_closed_exporter_reports_failure(self, tmp_path: Path) -> None:
        """After shutdown nothing is written."""
        exporter = JsonLinesSpanExporter(str(tmp_path / "spans.jsonl"))
        exporter.shutdown()
        provider = TracerProvider()
        span = provider.get_tracer("t").start_span("late")
        span.end()
        assert exporter.export([span]).name == "FAILURE"  # type: ignore[list-item]


def test_tracing_off_still_gives_logs_and_events_a_trace_id() -> None:
    """With nothing exporting, spans are not recorded but have ids; the stored traceparent says "not sampled"."""
    provider = TracerProvider(sampler=sampler_from_env({}, exporting=False))
    with provider.get_tracer("test").start_as_current_span("rpc") as span:
        carrier = inject_trace_context({})
        context = span.get_span_context()
    assert context.is_valid
    assert not span.is_recording()
    version, trace_id, span_id, flags = carrier["traceparent"].split("-")
    assert (version, trace_id, span_id) == ("00", format(context.trace_id, "032x"), format(context.span_id, "016x"))
    assert int(flags, 16) & 1 == 0
