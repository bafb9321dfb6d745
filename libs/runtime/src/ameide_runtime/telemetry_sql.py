"""A CLIENT span per SQL statement, at the psycopg level, registered only while spans are exported.

Every database call of the three deployables ends in a psycopg 3 async cursor: SQLAlchemy's engines, the event
store's append hot path and the query service's read pool alike. ``instrument_sql`` makes new async connections
use a cursor class that wraps ``execute``/``executemany`` in a span (a connection opened with its own
``cursor_factory`` keeps it). The OpenTelemetry contrib package for psycopg does the same; its releases pin an
``opentelemetry-instrumentation`` version that can lag the gRPC instrumentation's, so this small class stands in.
Statement text is recorded without parameters (they stay bound), so no user data reaches the spans.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from psycopg import sql

_tracer = trace.get_tracer("ameide_runtime.sql")
_MAX_STATEMENT_CHARS = 2000
_original_connect: list[Any] = []


def _statement_text(cursor: psycopg.AsyncCursor[Any], query: object) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes):
        return query.decode("utf-8", "replace")
    if isinstance(query, sql.Composable):
        try:
            return query.as_string(cursor.connection)
        except (psycopg.Error, TypeError, ValueError):
            return ""
    return ""


@contextmanager
def _statement_span(cursor: psycopg.AsyncCursor[Any], query: object) -> Iterator[None]:
    text = _statement_text(cursor, query)
    words = text.lstrip(" (\n\t").split(None, 1)
    operation = words[0].upper() if words else "SQL"
    database = cursor.connection.info.dbname
    with _tracer.start_as_current_span(
        f"{operation} {database}", kind=SpanKind.CLIENT, record_exception=False, set_status_on_exception=False
    ) as span:
        if span.is_recording():
            span.set_attribute("db.system", "postgresql")
            span.set_attribute("db.name", database)
            span.set_attribute("db.operation", operation)
            span.set_attribute("db.statement", text[:_MAX_STATEMENT_CHARS])
        try:
            yield
        except Exception as exc:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            span.record_exception(exc)
            raise


class TracedAsyncCursor(psycopg.AsyncCursor[Any]):
    """An async cursor whose statements are spans."""

    async def execute(self, query: Any, params: Any = None, **kwargs: Any) -> TracedAsyncCursor:  # noqa: ANN401 - psycopg's own signature
        """Run ``query`` in a span."""
        with _statement_span(self, query):
            await super().execute(query, params, **kwargs)
        return self

    async def executemany(self, query: Any, params_seq: Iterable[Any], **kwargs: Any) -> None:  # noqa: ANN401 - psycopg's own signature
        """Run ``query`` for every parameter set, in one span."""
        with _statement_span(self, query):
            await super().executemany(query, params_seq, **kwargs)


def instrument_sql() -> None:
    """Make new psycopg async connections trace their statements (idempotent)."""
    if _original_connect:
        return
    original = psycopg.AsyncConnection.connect.__func__  # type: ignore[attr-defined]

    async def connect(cls: type[psycopg.AsyncConnection[Any]], *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        if kwargs.get("cursor_factory") is None:
            kwargs["cursor_factory"] = TracedAsyncCursor
        return await original(cls, *args, **kwargs)

    _original_connect.append(original)
    psycopg.AsyncConnection.connect = classmethod(connect)  # type: ignore[method-assign,assignment]


def uninstrument_sql() -> None:
    """Restore psycopg's own ``AsyncConnection.connect`` (connections already open keep their cursor class)."""
    if _original_connect:
        psycopg.AsyncConnection.connect = classmethod(_original_connect.pop())  # type: ignore[method-assign,assignment]
