"""Deterministic event ids and event metadata: the same legacy row always yields the same event.

Appending an event id that is already stored fails (``DuplicateEventError``), so a re-run or a resumed run can
never import a row twice, whatever state an earlier run was interrupted in.
"""

from __future__ import annotations

import datetime as dt
import uuid

# Fixed forever: changing it would make every re-run import everything again.
NAMESPACE = uuid.UUID("6f1d8a52-3c0e-4c35-9a61-0d6a3f9e2b17")

# Marks imported events in their metadata (kept next to the standard keys).
CORRELATION_ID = "legacy-import"


def event_id(table: str, key: str, kind: str) -> uuid.UUID:
    """The id of the event of ``kind`` derived from the legacy row ``table``/``key``."""
    return uuid.uuid5(NAMESPACE, f"{table}/{key}/{kind}")


def occurred_at(at: dt.datetime) -> str:
    """ISO 8601 UTC, as every event's ``occurred_at``."""
    return at.astimezone(dt.UTC).isoformat()


def metadata(*, user_id: str, tenant_id: str, at: dt.datetime, source: str) -> dict[str, str]:
    """Event metadata: the legacy author and time, plus the legacy row the event came from."""
    return {
        "user_id": user_id,
        "tenant_id": tenant_id,
        "occurred_at": occurred_at(at),
        "correlation_id": CORRELATION_ID,
        "causation_id": source,
        "legacy_source": source,
    }
