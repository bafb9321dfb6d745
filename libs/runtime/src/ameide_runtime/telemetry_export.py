"""Where spans go and which are kept: exporters and the sampler chosen from the standard ``OTEL_*`` variables.

Tracing is off by default: every RPC still gets trace and span ids (for logs and event metadata) but spans are
not recorded, which costs next to nothing. It is on when an exporter is configured:

- ``OTEL_TRACES_EXPORTER`` = comma list of ``otlp``, ``console``, ``none``; when unset, ``otlp`` if
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set, else none.
- ``OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL`` = ``grpc`` (default) or ``http/protobuf``; the exporters read their
  endpoint, headers, timeout and TLS settings from the ``OTEL_EXPORTER_OTLP_*`` variables themselves.
- ``AMEIDE_TRACE_FILE`` (a debug setting): every finished span as one JSON line appended to that file, written
  when the span ends; several processes may share one file.

Then ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` choose the sampler (default ``parentbased_always_on``),
wrapped so that a span of a database or Redis call with no parent (a background poll) is never recorded: a
projector's outbox poll or a query process's blocking Redis read would otherwise start a trace every second.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    DEFAULT_OFF,
    DEFAULT_ON,
    ParentBasedTraceIdRatio,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

from ameide_runtime.settings import SettingsError

EXPORTERS = ("otlp", "console", "none")


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """One span as a JSON-ready dict: names, ids (hex), parent, kind, status, times (epoch ns), attributes, links."""
    context = span.get_span_context()
    parent = span.parent
    return {
        "name": span.name,
        "service": span.resource.attributes.get("service.name", ""),
        "scope": span.instrumentation_scope.name if span.instrumentation_scope else "",
        "trace_id": format(context.trace_id, "032x") if context else "",
        "span_id": format(context.span_id, "016x") if context else "",
        "parent_span_id": format(parent.span_id, "016x") if parent else "",
        "kind": span.kind.name,
        "status": span.status.status_code.name,
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "attributes": dict(span.attributes or {}),
        "links": [
            {"trace_id": format(link.context.trace_id, "032x"), "span_id": format(link.context.span_id, "016x")}
            for link in span.links
        ],
    }


class JsonLinesSpanExporter(SpanExporter):
    """Appends each span as one JSON line to a file (``AMEIDE_TRACE_FILE``), for debugging and tests.

    Each export is one ``write`` on an ``O_APPEND`` descriptor, so processes sharing the file never interleave
    within a line.
    """

    def __init__(self, path: str) -> None:
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Write the spans; a closed exporter or a failed write reports FAILURE."""
        data = "".join(json.dumps(span_record(s), default=str, ensure_ascii=False) + "\n" for s in spans).encode()
        with self._lock:
            if self._fd is None:
                return SpanExportResult.FAILURE
            try:
                os.write(self._fd, data)
            except OSError:
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Close the file."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:  # noqa: ARG002 - every write is already flushed
        """Nothing is buffered."""
        return True


class NoBackgroundRoots(Sampler):
    """Drops root CLIENT spans (a database or Redis call outside any request or batch); otherwise delegates."""

    def __init__(self, delegate: Sampler) -> None:
        self._delegate = delegate

    def should_sample(  # noqa: PLR0917 - the Sampler interface
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        """DROP for a parentless CLIENT span, else the delegate's decision."""
        if kind == SpanKind.CLIENT and not trace.get_current_span(parent_context).get_span_context().is_valid:
            return ALWAYS_OFF.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)
        return self._delegate.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        """Shown in debug output."""
        return f"NoBackgroundRoots{{{self._delegate.get_description()}}}"


def _ratio(environ: Mapping[str, str]) -> float:
    raw = environ.get("OTEL_TRACES_SAMPLER_ARG", "") or "1.0"
    try:
        ratio = float(raw)
    except ValueError as exc:
        raise SettingsError(f"OTEL_TRACES_SAMPLER_ARG: expected a ratio between 0 and 1, got {raw!r}") from exc
    if not 0.0 <= ratio <= 1.0:
        raise SettingsError(f"OTEL_TRACES_SAMPLER_ARG: expected a ratio between 0 and 1, got {raw!r}")
    return ratio


def sampler_from_env(environ: Mapping[str, str], *, exporting: bool) -> Sampler:
    """The sampler: ALWAYS_OFF when nothing exports, else ``OTEL_TRACES_SAMPLER`` without background roots."""
    if not exporting:
        return ALWAYS_OFF
    name = (environ.get("OTEL_TRACES_SAMPLER", "") or "parentbased_always_on").strip().lower()
    fixed: dict[str, Sampler] = {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "parentbased_always_on": DEFAULT_ON,
        "parentbased_always_off": DEFAULT_OFF,
    }
    if name in fixed:
        return NoBackgroundRoots(fixed[name])
    if name == "traceidratio":
        return NoBackgroundRoots(TraceIdRatioBased(_ratio(environ)))
    if name == "parentbased_traceidratio":
        return NoBackgroundRoots(ParentBasedTraceIdRatio(_ratio(environ)))
    raise SettingsError(f"OTEL_TRACES_SAMPLER: unsupported sampler {name!r}")


def exporter_names(environ: Mapping[str, str]) -> list[str]:
    """The exporters ``OTEL_TRACES_EXPORTER`` asks for (see the module docstring); ``[]`` = tracing off."""
    raw = environ.get("OTEL_TRACES_EXPORTER", "").strip()
    if not raw:
        endpoint = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        return ["otlp"] if endpoint else []
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    for name in names:
        if name not in EXPORTERS:
            raise SettingsError(f"OTEL_TRACES_EXPORTER: unsupported exporter {name!r} (use {', '.join(EXPORTERS)})")
    return [name for name in names if name != "none"]


def _otlp_exporter(environ: Mapping[str, str]) -> SpanExporter:
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc"
    # Imported only when used: each exporter brings its own transport machinery.
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        return OTLPSpanExporter()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter as HttpOTLPSpanExporter,
        )

        return HttpOTLPSpanExporter()
    raise SettingsError(f"OTEL_EXPORTER_OTLP_PROTOCOL: unsupported protocol {protocol!r} (use grpc or http/protobuf)")


def span_processors(environ: Mapping[str, str], *, trace_file: str = "") -> list[SpanProcessor]:
    """One processor per configured exporter: batched for OTLP and console, immediate for the trace file."""
    processors: list[SpanProcessor] = []
    for name in exporter_names(environ):
        exporter = _otlp_exporter(environ) if name == "otlp" else ConsoleSpanExporter()
        processors.append(BatchSpanProcessor(exporter))
    if trace_file:
        processors.append(SimpleSpanProcessor(JsonLinesSpanExporter(trace_file)))
    return processors
