"""The query deployable's settings: its server, who may call it, where it reads, and its live streams."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self

from ameide_runtime.settings import (
    AuthSettings,
    ServerSettings,
    StoreSettings,
    database_url,
    port,
    positive_int,
    read,
    setting,
)


@dataclass(frozen=True, slots=True)
class QuerySettings:
    """Field ``x`` is read from ``AMEIDE_X`` (sections' fields likewise); see the README's configuration table."""

    server: ServerSettings = field(default_factory=ServerSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    stores: StoreSettings = field(default_factory=StoreSettings)
    query_database_url: str = setting("", parse=database_url)
    query_port: int = setting(50052, parse=port)
    query_metrics_port: int = setting(9465, parse=port)
    consistency_wait_ms: int = 2000
    resume_token_ttl_seconds: int = setting(24 * 3600, parse=positive_int)
    heartbeat_seconds: float = 15.0
    subscriber_queue_size: int = setting(256, parse=positive_int)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Self:
        """The settings in ``environ``; ``SettingsError`` names the first bad variable."""
        return read(cls, environ)

    def ports(self) -> tuple[int, int]:
        """The gRPC port and the metrics port (0 = off)."""
        return self.query_port, self.query_metrics_port

    def read_database_url(self) -> str:
        """The database the service reads (a replica when AMEIDE_QUERY_DATABASE_URL is set)."""
        return self.query_database_url or self.stores.require_database()
