"""The command deployable's settings: its server, who may call it, its stores, its port and its write rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self

from ameide_runtime.settings import (
    AuthSettings,
    ServerSettings,
    StoreSettings,
    parse_mapping,
    port,
    positive_int,
    read,
    setting,
)


@dataclass(frozen=True, slots=True)
class CommandSettings:
    """Field ``x`` is read from ``AMEIDE_X`` (sections' fields likewise); see the README's configuration table."""

    server: ServerSettings = field(default_factory=ServerSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    stores: StoreSettings = field(default_factory=StoreSettings)
    command_port: int = setting(50051, parse=port)
    command_metrics_port: int = setting(9464, parse=port)
    idempotency_ttl_hours: float = 24.0
    # Appends beyond eight in flight, or to a stream being written, go to PostgreSQL in batches (D65).
    group_commit: bool = False
    agent_by_kind: Mapping[str, str] = setting(factory=dict, parse=parse_mapping)
    default_agent: str = "general-assistant"
    max_title_chars: int = 256
    max_parts: int = 64
    max_text_part_bytes: int = 64 * 1024
    max_message_bytes: int = 1024 * 1024
    max_artifact_bytes: int = 4 * 1024 * 1024
    max_labels: int = 64
    outbox_shards: int = setting(64, parse=positive_int)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Self:
        """The settings in ``environ``; ``SettingsError`` names the first bad variable."""
        return read(cls, environ)

    def ports(self) -> tuple[int, int]:
        """The gRPC port and the metrics port (0 = off)."""
        return self.command_port, self.command_metrics_port
