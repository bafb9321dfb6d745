"""Logs and traces: JSON log lines carrying trace ids, an OpenTelemetry tracer provider, W3C trace context.

- ``configure_logging``: one JSON object per line (``ts``, ``level``, ``logger``, ``msg``, ``trace_id``,
  ``span_id``, ``service``, plus ``exc`` and any ``extra=`` fields), or readable text for development.
- ``configure_tracing``: an SDK tracer provider, so every RPC has a trace id to log and store in event metadata;
  spans are recorded and exported only when an exporter is configured (``OTEL_EXPORTER_OTLP_ENDPOINT``,
  ``OTEL_TRACES_EXPORTER``, or the debug file ``AMEIDE_TRACE_FILE``: see ``ameide_runtime.telemetry_export``),
  and only then are SQL statements and Redis calls traced too.
- ``inject_trace_context`` / ``extract_trace_context``: the W3C ``traceparent`` in event metadata, so the
  projector continues the trace of the command that wrote the event.
Prometheus metrics live in ``ameide_runtime.metrics``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ameide_runtime.settings import ServerSettings
from ameide_runtime.telemetry_export import sampler_from_env, span_processors
from ameide_runtime.telemetry_sql import instrument_sql

_PROPAGATOR = TraceContextTextMapPropagator()
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_state: dict[str, TracerProvider] = {}


def _trace_ids() -> tuple[str, str]:
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return "", ""
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the active trace and span ids."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a single JSON line."""
        trace_id, span_id = _trace_ids()
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "trace_id": trace_id,
            "span_id": span_id,
            "service": self._service,
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in line:
                line[key] = value
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable lines for development, with the trace id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as text."""
        text = super().format(record)
        trace_id, _ = _trace_ids()
        return f"{text} [trace={trace_id}]" if trace_id and record.levelno >= logging.WARNING else text


def configure_logging(settings: ServerSettings, service: str) -> None:
    """Send every log record to stderr in the configured format (``AMEIDE_LOG_FORMAT``, ``AMEIDE_LOG_LEVEL``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service) if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # grpc and urllib3 are chatty at INFO; their warnings still come through.
    for noisy in ("grpc", "urllib3", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def configure_tracing(service: str, environ: Mapping[str, str], *, trace_file: str = "") -> TracerProvider:
    """Install the process's tracer provider once; record and export spans only when an exporter is configured.

    ``OTEL_SERVICE_NAME`` overrides ``service``; ``trace_file`` is ``AMEIDE_TRACE_FILE`` (``ServerSettings``).
    """
    if "provider" in _state:
        return _state["provider"]
    processors = span_processors(environ, trace_file=trace_file)
    provider = TracerProvider(
        resource=Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME") or service}),
        sampler=sampler_from_env(environ, exporting=bool(processors)),
    )
    for processor in processors:
        provider.add_span_processor(processor)
    if processors:
        # Statement and Redis spans cost a little on every call: only worth it when someone reads them.
        from opentelemetry.instrumentation.redis import RedisInstrumentor  # noqa: PLC0415

        instrument_sql()
        RedisInstrumentor().instrument(tracer_provider=provider)
    trace.set_tracer_provider(provider)
    _state["provider"] = provider
    return provider


def shutdown_tracing() -> None:
    """Flush and stop span export (at process exit)."""
    provider = _state.pop("provider", None)
    if provider is not None:
        provider.shutdown()


def inject_trace_context(metadata: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Write the active span's ``traceparent`` (and ``tracestate``) into ``metadata``; return it."""
    _PROPAGATOR.inject(metadata)
    return metadata


def extract_trace_context(metadata: Mapping[str, str]) -> otel_context.Context:
    """The trace context stored in ``metadata``, to start a span that continues it (``context=...``)."""
    return _PROPAGATOR.extract(dict(metadata))


def current_traceparent() -> str:
    """The W3C ``traceparent`` of the active span, or "" when there is none.

    Written as the W3C propagator's ``inject`` writes it, without its carrier and ``tracestate`` work: every
    command records it in its events' metadata.
    """
    span_context = trace.get_current_span().get_span_context()
    if span_context == trace.INVALID_SPAN_CONTEXT:
        return ""
    return (
        f"00-{trace.format_trace_id(span_context.trace_id)}-{trace.format_span_id(span_context.span_id)}"
        f"-{span_context.trace_flags:02x}"
    )
