"""Live updates: StreamChatUpdates and StreamArtifactUpdates over the durable feed and Redis Streams."""

from __future__ import annotations

from ameide_query.streams.live import LiveUpdates

__all__ = ["LiveUpdates"]
