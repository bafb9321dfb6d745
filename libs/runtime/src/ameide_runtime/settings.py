"""Settings: read once from ``AMEIDE_*`` environment variables, validated at start.

A missing or invalid value raises ``SettingsError`` naming the variable. No other module reads the environment.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Literal, TypeVar

from ameide_pg.urls import sqlalchemy_url

T = TypeVar("T")

AuthMode = Literal["jwt", "insecure-headers"]
OnProjectionError = Literal["park", "halt"]


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


def parse_mapping(text: str) -> dict[str, str]:
    """Parse ``"a=b,c=d"`` into a dict (used by AMEIDE_AGENT_BY_KIND)."""
    result: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"expected key=value, got {item!r}")
        result[key.strip()] = value.strip()
    return result


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the three deployables. Field ``x`` is read from ``AMEIDE_X``."""

    database_url: str = ""
    query_database_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    auth: AuthMode = "jwt"
    jwt_secret: str = ""
    jwt_public_key: str = ""
    jwt_algorithms: tuple[str, ...] = ("HS256",)
    jwt_tenant_claim: str = "tenant_id"
    jwt_audience: str = ""
    jwt_issuer: str = ""
    token_secret: str = ""
    bind_host: str = "0.0.0.0"  # noqa: S104 - services listen on all interfaces inside their pod
    command_port: int = 50051
    query_port: int = 50052
    command_metrics_port: int = 9464
    query_metrics_port: int = 9465
    projector_metrics_port: int = 9466
    projector_health_port: int = 50053
    shutdown_grace_seconds: float = 20.0
    grpc_max_message_bytes: int = 8 * 1024 * 1024
    idempotency_ttl_hours: float = 24.0
    agent_by_kind: Mapping[str, str] = field(default_factory=dict)
    default_agent: str = "general-assistant"
    max_title_chars: int = 256
    max_parts: int = 64
    max_text_part_bytes: int = 64 * 1024
    max_message_bytes: int = 1024 * 1024
    max_artifact_bytes: int = 4 * 1024 * 1024
    max_labels: int = 64
    consistency_wait_ms: int = 2000
    resume_token_ttl_seconds: int = 24 * 3600
    feed_maxlen: int = 1000
    heartbeat_seconds: float = 15.0
    subscriber_queue_size: int = 256
    outbox_shards: int = 64
    projector_batch_size: int = 500
    projector_poll_ms: int = 200
    projector_on_error: OnProjectionError = "park"
    log_format: Literal["json", "text"] = "json"
    log_level: str = "INFO"
    trace_file: str = ""  # debug: append every span as a JSON line to this file (ameide_runtime.telemetry_export)
    web_port: int = 8080
    web_static_dir: str = ""  # the app bundle to serve; empty = the one shipped in ameide_web/static
    web_dev_tokens: bool = False  # `ameide dev` only: GET /dev/token mints JWTs with AMEIDE_JWT_SECRET

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, verifies_tokens: bool = True) -> Settings:
        """Build settings from an environment mapping; unknown AMEIDE_* variables are ignored.

        ``verifies_tokens=False`` is for the web deployable: it serves files, never an RPC, so it needs no JWT
        verification key (unless it mints development tokens).
        """
        values: dict[str, object] = {}
        for f in fields(cls):
            name = f"AMEIDE_{f.name.upper()}"
            raw = environ.get(name)
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = _PARSERS.get(f.name, _parser_for(f.type))(raw)
            except (ValueError, TypeError) as exc:
                raise SettingsError(f"{name}: {exc}") from exc
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate(verifies_tokens=verifies_tokens)
        return settings

    def validate(self, *, verifies_tokens: bool = True) -> None:
        """Check cross-field rules; raise ``SettingsError`` naming the variable."""
        if self.web_dev_tokens and not self.jwt_secret:
            raise SettingsError("AMEIDE_WEB_DEV_TOKENS: development tokens are signed with AMEIDE_JWT_SECRET; set it")
        if verifies_tokens and self.auth == "jwt" and not (self.jwt_secret or self.jwt_public_key):
            raise SettingsError(
                "AMEIDE_JWT_SECRET: required when AMEIDE_AUTH=jwt (or set AMEIDE_JWT_PUBLIC_KEY for RS256/ES256)"
            )
        for port_field in (
            "command_port",
            "query_port",
            "projector_health_port",
            "command_metrics_port",
            "query_metrics_port",
            "projector_metrics_port",
            "web_port",
        ):
            port = getattr(self, port_field)
            if not 0 <= port <= 65535:  # noqa: PLR2004 - the TCP port range
                raise SettingsError(f"AMEIDE_{port_field.upper()}: {port} is not a TCP port")

    def require_database(self) -> str:
        """The primary database URL, or an error naming AMEIDE_DATABASE_URL."""
        if not self.database_url:
            raise SettingsError("AMEIDE_DATABASE_URL: required (postgresql://user@host:5432/db)")
        return self.database_url

    def read_database_url(self) -> str:
        """The database the query service reads (a replica when AMEIDE_QUERY_DATABASE_URL is set)."""
        return self.query_database_url or self.require_database()

    def token_key(self) -> bytes:
        """Secret for page/resume/consistency tokens; shared by command and query services."""
        if self.token_secret:
            return self.token_secret.encode()
        if self.auth == "insecure-headers":
            # Dev mode only: tokens from one process run are not valid in another.
            return _DEV_TOKEN_SECRET
        raise SettingsError(
            "AMEIDE_TOKEN_SECRET: required (at least 16 characters) unless AMEIDE_AUTH=insecure-headers"
        )


_DEV_TOKEN_SECRET = secrets.token_bytes(32)


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {raw!r}")
        return raw

    return parse


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(f"must be positive, got {value}")
    return value


def _token_secret(raw: str) -> str:
    if len(raw) < 16:  # noqa: PLR2004 - a shorter HMAC key is guessable
        raise ValueError("must be at least 16 characters")
    return raw


_PARSERS: dict[str, Callable[[str], object]] = {
    "database_url": sqlalchemy_url,
    "query_database_url": sqlalchemy_url,
    "auth": _choice("jwt", "insecure-headers"),
    "projector_on_error": _choice("park", "halt"),
    "log_format": _choice("json", "text"),
    "jwt_algorithms": lambda raw: tuple(a.strip() for a in raw.split(",") if a.strip()),
    "agent_by_kind": parse_mapping,
    "token_secret": _token_secret,
    "outbox_shards": _positive_int,
    "projector_batch_size": _positive_int,
    "subscriber_queue_size": _positive_int,
    "feed_maxlen": _positive_int,
    "resume_token_ttl_seconds": _positive_int,
}


def _parser_for(type_name: object) -> Callable[[str], object]:
    text = str(type_name)
    if text == "int":
        return int
    if text == "float":
        return float
    if text == "bool":
        return _parse_bool
    return str
