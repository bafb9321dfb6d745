"""Projector metrics (Prometheus): what was applied, skipped and failed."""

from __future__ import annotations

from prometheus_client import Counter

EVENTS_APPLIED = Counter("ameide_projector_events_applied_total", "Events applied to the read model.")
EVENTS_DUPLICATE = Counter(
    "ameide_projector_events_duplicate_total", "Events skipped because their stream version was already applied."
)
EVENTS_UNKNOWN = Counter(
    "ameide_projector_events_unknown_total",
    "Events of a type this projector does not know, skipped (the stream version still advances).",
    ["event_type"],
)
PROJECTION_ERRORS = Counter(
    "ameide_projector_projection_errors_total",
    "Batches that failed to project (the outbox consumer retries them and parks the poison event).",
    ["error"],
)
FEED_UPDATES = Counter("ameide_projector_feed_updates_total", "Live updates appended to the feeds.")
