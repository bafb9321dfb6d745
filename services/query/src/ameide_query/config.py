"""The query deployable's settings: its server, who may call it, where it reads, its live streams and signals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self

from ameide_runtime.settings import (
    AuthSettings,
    ServerSettings,
    SettingsError,
    StoreSettings,
    database_url,
    port,
    positive_int,
    read,
    setting,
)


def positive_seconds(raw: str) -> float:
    """A duration in seconds above zero (fractions allowed)."""
    value = float(raw)
    if not value > 0:
        raise ValueError(f"must be a positive number of seconds, got {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class LiveSignalSettings:
    """Presence and draft assistant messages (``ameide_query.live``): their TTLs, and where drafts end up.

    The message limits are the command service's (same variables): a draft may not outgrow one message, and its
    completion is sent to ``command_target`` as such a message.
    """

    presence_viewing_ttl_seconds: float = setting(30.0, parse=positive_seconds)
    presence_typing_ttl_seconds: float = setting(6.0, parse=positive_seconds)
    draft_ttl_seconds: float = setting(60.0, parse=positive_seconds)
    command_target: str = "127.0.0.1:50051"
    max_parts: int = setting(64, parse=positive_int)
    max_text_part_bytes: int = setting(64 * 1024, parse=positive_int)
    max_message_bytes: int = setting(1024 * 1024, parse=positive_int)

    def validate(self) -> None:
        """Typing must end before viewing does (a typing client is a viewing one)."""
        if self.presence_typing_ttl_seconds >= self.presence_viewing_ttl_seconds:
            raise SettingsError("AMEIDE_PRESENCE_TYPING_TTL_SECONDS: must be below AMEIDE_PRESENCE_VIEWING_TTL_SECONDS")


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
    live: LiveSignalSettings = field(default_factory=LiveSignalSettings)

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
