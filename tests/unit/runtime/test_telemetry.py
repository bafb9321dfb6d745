"""Telemetry: JSON log lines with trace ids, and W3C trace context carried in event metadata."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from ameide_runtime.telemetry import (
    JsonFormatter,
    TextFormatter,
    current_traceparent,
    extract_trace_context,
    inject_trace_context,
)

pytestmark = pytest.mark.unit

TRACER = TracerProvider().get_tracer("test")


def _record(message: str = "hello %s", *args: object) -> logging.LogRecord:
    return logging.LogRecord("ameide.test", logging.INFO, __file__, 1, message, args or ("world",), None)


class TestJsonLogs:
    def test_one_json_object_with_the_documented_fields(self) -> None:
        """A record renders as one JSON line with ts, level, logger, msg, trace_id, span_id."""
        line = JsonFormatter("command").format(_record())
        parsed = json.loads(line)
        assert "\n" not in line
        assert {"ts", "level", "logger", "msg", "trace_id", "span_id", "service"} <= parsed.keys()
        assert ("INFO", "ameide.test", "hello world", "command") == (
            parsed["level"],
            parsed["logger"],
            parsed["msg"],
            parsed["service"],
        )

    def test_trace_ids_of_the_active_span(self) -> None:
        """Inside a span the line carries its trace and span ids."""
        with TRACER.start_as_current_span("rpc") as span:
            parsed = json.loads(JsonFormatter("query").format(_record()))
            context = span.get_span_context()
        assert (format(context.trace_id, "032x"), format(context.span_id, "016x")) == (
            parsed["trace_id"],
            parsed["span_id"],
        )

    def test_extra_fields_and_exceptions_are_kept(self) -> None:
        """extra= fields and the formatted exception are part of the line."""
        record = _record()
        record.stream_id = "s-1"
        try:
            raise ValueError("boom")  # noqa: TRY301 - building a real exc_info
        except ValueError:
            import sys  # noqa: PLC0415 - only needed here

            record.exc_info = sys.exc_info()
        parsed = json.loads(JsonFormatter("projector").format(record))
        assert parsed["stream_id"] == "s-1"
        assert "ValueError: boom" in parsed["exc"]

    def test_text_mode_is_readable(self) -> None:
        """Text mode prints level, logger and message."""
        assert "INFO    ameide.test: hello world" in TextFormatter().format(_record())


class TestTraceContext:
    def test_inject_then_extract_continues_the_trace(self) -> None:
        """A traceparent written into event metadata lets the projector continue the same trace."""
        with TRACER.start_as_current_span("command") as span:
            metadata = inject_trace_context({"user_id": "u1"})
            parent_trace = span.get_span_context().trace_id
            assert metadata["traceparent"] == current_traceparent()
        with TRACER.start_as_current_span("projector", context=extract_trace_context(metadata)) as child:
            assert child.get_span_context().trace_id == parent_trace

    def test_no_span_means_no_traceparent(self) -> None:
        """Without an active span nothing is written."""
        assert trace.get_current_span().get_span_context().is_valid is False
        assert inject_trace_context({}) == {}
        assert current_traceparent() == ""
