"""Settings: each deployable reads its own, once, from ``AMEIDE_*`` environment variables, and checks them at start.

A deployable's settings are a frozen dataclass (``ameide_command.config``, ``ameide_query.config``,
``ameide_projector.config``) made of the sections it needs (``ServerSettings``, ``AuthSettings``,
``StoreSettings``) and its own fields. Field ``x`` is read from ``AMEIDE_X`` and parsed by the parser in its
metadata (``setting(default, parse)``), else by its type; a missing or invalid value raises ``SettingsError``
naming the variable. Variables a deployable does not read are never looked at, so a bad value meant for another
one cannot stop it. No other module reads the environment.
"""

from __future__ import annotations

import dataclasses
import secrets
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeGuard, TypeVar

from ameide_pg.urls import sqlalchemy_url

T = TypeVar("T")

AuthMode = Literal["jwt", "insecure-headers"]
PREFIX = "AMEIDE_"


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


def variable(name: str) -> str:
    """The environment variable of setting ``name``."""
    return PREFIX + name.upper()


def setting(default: Any = dataclasses.MISSING, *, parse: Callable[[str], object], factory: Any = None) -> Any:  # noqa: ANN401 - a dataclass field
    """A field parsed by ``parse`` (its type's parser otherwise); ``factory`` for mutable defaults."""
    if factory is not None:
        return field(default_factory=factory, metadata={"parse": parse})
    return field(default=default, metadata={"parse": parse})


def read(cls: type[T], environ: Mapping[str, str]) -> T:
    """Build ``cls`` from ``environ``: sections recursively, fields from their variables, then ``validate()``."""
    hints = typing.get_type_hints(cls)
    values: dict[str, object] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        kind = hints[f.name]
        if _is_section(kind):
            values[f.name] = read(kind, environ)
            continue
        raw = environ.get(variable(f.name))
        if raw is None or raw == "":
            continue
        try:
            values[f.name] = f.metadata.get("parse", _parser_for(kind))(raw)
        except (ValueError, TypeError) as exc:
            raise SettingsError(f"{variable(f.name)}: {exc}") from exc
    settings = cls(**values)
    validate = getattr(settings, "validate", None)
    if validate is not None:
        validate()
    return settings


def _is_section(kind: object) -> TypeGuard[type[Any]]:
    return isinstance(kind, type) and dataclasses.is_dataclass(kind)


def variables(cls: type[object]) -> list[str]:
    """Every variable ``cls`` reads, its sections' included (what the README documents)."""
    hints = typing.get_type_hints(cls)
    names: list[str] = []
    for f in fields(cls):  # type: ignore[arg-type]
        kind = hints[f.name]
        names.extend(variables(kind) if _is_section(kind) else [variable(f.name)])
    return names


# --- parsers ----------------------------------------------------------------------------------------------------


def parse_mapping(text: str) -> dict[str, str]:
    """Parse ``"a=b,c=d"`` into a dict (used by AMEIDE_AGENT_BY_KIND)."""
    result: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"expected key=value, got {item!r}")
        result[key.strip()] = value.strip()
    return result


def choice(*allowed: str) -> Callable[[str], str]:
    """A parser accepting only ``allowed``."""

    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {raw!r}")
        return raw

    return parse


def positive_int(raw: str) -> int:
    """An integer above zero."""
    value = int(raw)
    if value <= 0:
        raise ValueError(f"must be positive, got {value}")
    return value


def port(raw: str) -> int:
    """A TCP port (0 = any free one, or off for metrics)."""
    value = int(raw)
    if not 0 <= value <= 65535:  # noqa: PLR2004 - the TCP port range
        raise ValueError(f"{value} is not a TCP port")
    return value


def database_url(raw: str) -> str:
    """A PostgreSQL URL, as SQLAlchemy's psycopg 3 driver wants it."""
    return sqlalchemy_url(raw)


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _token_secret(raw: str) -> str:
    if len(raw) < 16:  # noqa: PLR2004 - a shorter HMAC key is guessable
        raise ValueError("must be at least 16 characters")
    return raw


def _comma_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _parser_for(kind: object) -> Callable[[str], object]:
    if kind is int:
        return int
    if kind is float:
        return float
    if kind is bool:
        return _parse_bool
    return str


# --- sections ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """How a deployable's gRPC server listens and stops, and how it logs."""

    bind_host: str = "0.0.0.0"  # noqa: S104 - services listen on all interfaces inside their pod
    shutdown_grace_seconds: float = 20.0
    grpc_max_message_bytes: int = 8 * 1024 * 1024
    log_format: Literal["json", "text"] = setting("json", parse=choice("json", "text"))
    log_level: str = "INFO"
    trace_file: str = ""  # debug: append every span as a JSON line to this file (ameide_runtime.telemetry_export)


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Who may call a service (JWT, or trusted headers in development) and the key its tokens are signed with."""

    auth: AuthMode = setting("jwt", parse=choice("jwt", "insecure-headers"))
    jwt_secret: str = ""
    jwt_public_key: str = ""
    jwt_algorithms: tuple[str, ...] = setting(("HS256",), parse=_comma_list)
    jwt_tenant_claim: str = "tenant_id"
    jwt_audience: str = ""
    jwt_issuer: str = ""
    token_secret: str = setting("", parse=_token_secret)

    def validate(self) -> None:
        """JWT mode needs a key to verify tokens with."""
        if self.auth == "jwt" and not (self.jwt_secret or self.jwt_public_key):
            raise SettingsError(
                "AMEIDE_JWT_SECRET: required when AMEIDE_AUTH=jwt (or set AMEIDE_JWT_PUBLIC_KEY for RS256/ES256)"
            )

    def token_key(self) -> bytes:
        """Secret for page/resume/consistency tokens; shared by the command and query services."""
        if self.token_secret:
            return self.token_secret.encode()
        if self.auth == "insecure-headers":
            # Dev mode only: tokens from one process run are not valid in another.
            return _DEV_TOKEN_SECRET
        raise SettingsError(
            "AMEIDE_TOKEN_SECRET: required (at least 16 characters) unless AMEIDE_AUTH=insecure-headers"
        )


_DEV_TOKEN_SECRET = secrets.token_bytes(32)


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """Where the event store and read model (PostgreSQL) and the live-update streams (Redis) are."""

    database_url: str = setting("", parse=database_url)
    redis_url: str = "redis://127.0.0.1:6379/0"

    def require_database(self) -> str:
        """The primary database URL, or an error naming AMEIDE_DATABASE_URL."""
        if not self.database_url:
            raise SettingsError("AMEIDE_DATABASE_URL: required (postgresql://user@host:5432/db)")
        return self.database_url
