"""Field validation that collects every violation of a request before answering INVALID_ARGUMENT once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

from ameide_command.config import CommandSettings
from ameide_command.domain.model import RELATIONS, VISIBILITIES, Relation, Visibility
from ameide_runtime.errors import FieldViolation, InvalidArgument

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_KEY_CHARS = 128
MAX_NAME_CHARS = 128
MAX_LABEL_KEY_CHARS = 256
MAX_LABEL_VALUE_CHARS = 4096
MAX_DESCRIPTION_CHARS = 4096
# These fields become PostgreSQL text/jsonb in the read model, which cannot hold U+0000: an event carrying one
# would be accepted here and then never project (the chat or artifact would stay invisible).
NUL = "\x00"
NO_NUL = "must not contain NUL (U+0000) characters"


@dataclass(frozen=True, slots=True)
class Limits:
    """The configurable limits of design.md section 5."""

    max_title_chars: int = 256
    max_parts: int = 64
    max_text_part_bytes: int = 64 * 1024
    max_message_bytes: int = 1024 * 1024
    max_artifact_bytes: int = 4 * 1024 * 1024
    max_labels: int = 64

    @classmethod
    def from_settings(cls, settings: CommandSettings) -> Limits:
        """The limits configured by ``AMEIDE_MAX_*``."""
        return cls(
            max_title_chars=settings.max_title_chars,
            max_parts=settings.max_parts,
            max_text_part_bytes=settings.max_text_part_bytes,
            max_message_bytes=settings.max_message_bytes,
            max_artifact_bytes=settings.max_artifact_bytes,
            max_labels=settings.max_labels,
        )


class Checker:
    """Collects violations; ``done()`` raises them all at once."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.violations: list[FieldViolation] = []

    def fail(self, field: str, description: str) -> None:
        """Record one violation."""
        self.violations.append(FieldViolation(field, description))

    def done(self) -> None:
        """Raise INVALID_ARGUMENT with every violation recorded, if any."""
        if self.violations:
            raise_invalid(self.violations)

    def uuid(self, field: str, value: str, *, required: bool = True) -> str:
        """A UUID in canonical (lower-case, hyphenated) form; "" when absent and optional."""
        if not value:
            if required:
                self.fail(field, "required")
            return ""
        if not _UUID.match(value):
            self.fail(field, "must be a UUID")
            return ""
        return value.lower()

    def title(self, field: str, value: str, *, required: bool = True) -> str:
        """A title within the limit."""
        if required and not value.strip():
            self.fail(field, "required")
        elif len(value) > self.limits.max_title_chars:
            self.fail(field, f"must be at most {self.limits.max_title_chars} characters")
        elif NUL in value:
            self.fail(field, NO_NUL)
        return value

    def text(self, field: str, value: str, max_chars: int, *, required: bool = False) -> str:
        """A short free-text field."""
        if required and not value.strip():
            self.fail(field, "required")
        elif len(value) > max_chars:
            self.fail(field, f"must be at most {max_chars} characters")
        elif NUL in value:
            self.fail(field, NO_NUL)
        return value

    def idempotency_key(self, field: str, value: str, *, required: bool = False) -> str:
        """An idempotency key: at most 128 printable characters."""
        if not value:
            if required:
                self.fail(field, "required")
        elif len(value) > MAX_KEY_CHARS or not value.isprintable():
            self.fail(field, f"must be at most {MAX_KEY_CHARS} printable characters")
        return value

    def visibility(self, field: str, value: int, *, allow_unspecified: bool) -> Visibility:
        """A known visibility (UNSPECIFIED only where it has a meaning)."""
        if value == 0 and allow_unspecified:
            return Visibility(0)
        if value not in VISIBILITIES:
            self.fail(field, "must be CHAT_VISIBILITY_PRIVATE, _TEAM or _PUBLIC")
        return Visibility(value)

    def relation(self, field: str, value: int) -> Relation:
        """A known relation type (UNSPECIFIED means REFERENCED)."""
        if value != 0 and value not in RELATIONS:
            self.fail(field, "must be RELATION_TYPE_CREATED, _REFERENCED or _MODIFIED")
        return Relation(value)

    def labels(self, field: str, labels: Mapping[str, str]) -> dict[str, str]:
        """At most ``max_labels`` labels with non-empty, bounded keys and bounded values."""
        if len(labels) > self.limits.max_labels:
            self.fail(field, f"at most {self.limits.max_labels} labels")
        for key, value in labels.items():
            if not key or len(key) > MAX_LABEL_KEY_CHARS:
                self.fail(f"{field}[{key!r}]", f"label keys must have 1 to {MAX_LABEL_KEY_CHARS} characters")
            if len(value) > MAX_LABEL_VALUE_CHARS:
                self.fail(f"{field}[{key!r}]", f"label values must be at most {MAX_LABEL_VALUE_CHARS} characters")
            if NUL in key or NUL in value:
                self.fail(f"{field}[{key!r}]", NO_NUL)
        return dict(labels)

    def expected_version(self, field: str, present: bool, value: int) -> int | None:
        """An optional optimistic-concurrency version (>= 1 when given)."""
        if not present:
            return None
        if value < 1:
            self.fail(field, "must be at least 1 when set")
        return value


def raise_invalid(violations: list[FieldViolation]) -> NoReturn:
    """Raise INVALID_ARGUMENT naming every violation."""
    raise InvalidArgument(violations)
