"""Translate driver errors into event-store errors: nothing driver-specific escapes the package."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
from sqlalchemy import exc as sa_exc

from ameide_eventstore.errors import EventStoreError, TransientStoreError

EVENT_ID_CONSTRAINT = "es_events_event_id_key"
STREAM_VERSION_CONSTRAINT = "es_events_stream_id_version_key"

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _diag(error: Exception) -> Any:  # noqa: ANN401 - psycopg's Diagnostic
    return getattr(getattr(error, "orig", error), "diag", None)


def constraint_name(error: Exception) -> str | None:
    """The violated constraint reported by Postgres, if any (psycopg or SQLAlchemy-wrapped error)."""
    return getattr(_diag(error), "constraint_name", None)


def key_uuid(error: Exception) -> uuid.UUID | None:
    """The first UUID an error names: a unique violation's key ("Key (event_id)=(...)") or a conflict's stream."""
    diag = _diag(error)
    text = f"{getattr(diag, 'message_detail', None) or ''} {getattr(diag, 'message_primary', None) or ''}"
    match = _UUID.search(text)
    return uuid.UUID(match.group(0)) if match else None


def is_transient(error: BaseException) -> bool:
    """Connection loss, timeouts, deadlocks, serialization failures: retrying later may succeed."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(
        error,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.TimeoutError
        | psycopg.OperationalError
        | psycopg.InterfaceError
        | OSError,
    )


@contextlib.contextmanager
def transient_errors() -> Iterator[None]:
    """Re-raise driver errors as ``TransientStoreError`` when retrying may help, else ``EventStoreError``."""
    try:
        yield
    except (sa_exc.SQLAlchemyError, psycopg.Error, OSError) as error:
        if is_transient(error):
            raise TransientStoreError(str(error)) from error
        raise EventStoreError(str(error)) from error
