"""The projector deployable's settings: its health server, its stores, its shards and batches, and its feed.

It serves no client calls, so it reads no authentication settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Self

from ameide_runtime.settings import ServerSettings, StoreSettings, choice, port, positive_int, read, setting

OnProjectionError = Literal["park", "halt"]


@dataclass(frozen=True, slots=True)
class ProjectorSettings:
    """Field ``x`` is read from ``AMEIDE_X`` (sections' fields likewise); see the README's configuration table."""

    server: ServerSettings = field(default_factory=ServerSettings)
    stores: StoreSettings = field(default_factory=StoreSettings)
    projector_health_port: int = setting(50053, parse=port)
    projector_metrics_port: int = setting(9466, parse=port)
    outbox_shards: int = setting(64, parse=positive_int)
    projector_batch_size: int = setting(500, parse=positive_int)
    projector_poll_ms: int = 200
    projector_on_error: OnProjectionError = setting("park", parse=choice("park", "halt"))
    feed_maxlen: int = setting(1000, parse=positive_int)
    resume_token_ttl_seconds: int = setting(24 * 3600, parse=positive_int)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Self:
        """The settings in ``environ``; ``SettingsError`` names the first bad variable."""
        return read(cls, environ)

    def ports(self) -> tuple[int, int]:
        """The health port and the metrics port (0 = off)."""
        return self.projector_health_port, self.projector_metrics_port
