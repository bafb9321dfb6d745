"""Translate driver errors into event-store errors: nothing driver-specific escapes the package."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator

import psycopg
from sqlalchemy import exc as sa_exc

from ameide_eventstore.errors import EventStoreError, TransientStoreError

EVENT_ID_CONSTRAINT = "es_events_event_id_key"
STREAM_VERSION_CONSTRAINT = "es_events_stream_id_version_key"

_KEY_UUID = re.compile(r"=\(([0-9a-fA-F-]{36})[,)]")


def constraint_name(error: sa_exc.IntegrityError) -> str | None:
    """The violated constraint reported by Postgres, if any."""
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def key_uuid(error: sa_exc.IntegrityError) -> uuid.UUID | None:
    """The first UUID of a unique-violation key ("Key (event_id)=(...) already exists.")."""
    diag = getattr(error.orig, "diag", None)
    match = _KEY_UUID.search(getattr(diag, "message_detail", None) or "")
    return uuid.UUID(match.group(1)) if match else None


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
