"""Argument checks the SDK makes before calling, so a mistake fails fast with a clear ``ValueError``."""

from __future__ import annotations

import uuid


def require_uuid(name: str, value: object) -> str:
    """Return ``value`` when it is a UUID string; raise ``ValueError`` naming the argument otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a UUID string, got {type(value).__name__}")  # noqa: TRY004 - documented as ValueError
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValueError(f"{name} must be a UUID, got {value!r}") from None
    return value


def optional_uuid(name: str, value: object) -> str:
    """Like ``require_uuid``, but ``None`` and ``""`` mean "not given" and return ``""``."""
    if value is None or value == "":
        return ""
    return require_uuid(name, value)


def require_text(name: str, value: object) -> str:
    """Return ``value`` when it is a string with visible content; raise ``ValueError`` otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {type(value).__name__}")  # noqa: TRY004 - documented as ValueError
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value
