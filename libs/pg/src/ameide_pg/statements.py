"""Statements are written once as SQLAlchemy ``text()`` or Core objects and run as psycopg SQL text.

Compiling costs tens of microseconds, so modules compile their statements at import (or once per schema
translation, see ``compiled``) and send the text on a psycopg connection: the reads on ``pool.ConnectionPool``
connections, the projector's writes on its transaction's connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect

_DIALECT = psycopg_dialect.dialect()  # type: ignore[no-untyped-call]


def compiled(statement: Any, *, schema_translate: Mapping[str | None, str | None] | None = None) -> str:  # noqa: ANN401 - any SQLAlchemy statement
    """``statement`` as psycopg SQL (``%(name)s`` placeholders); tables moved by ``schema_translate`` if given."""
    if not schema_translate:
        return str(statement.compile(dialect=_DIALECT))
    options = {"schema_translate_map": dict(schema_translate), "render_schema_translate": True}
    return str(statement.compile(dialect=_DIALECT, **options))
