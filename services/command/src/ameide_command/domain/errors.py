"""Why the rules refuse a command: the domain's own errors, free of any transport.

Each names the rule it enforces in ``reason`` (stable, UPPER_SNAKE, what clients branch on) and says it for
people in its message. The command service's edge maps them to gRPC statuses in one table
(``ameide_command.entrypoints.errors``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Violation:
    """One invalid field of a command: ``field`` is its path (e.g. ``visibility``)."""

    field: str
    description: str


class DomainError(Exception):
    """A command the rules refuse; ``reason`` names the rule."""

    reason: str = "REFUSED"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class NotFoundError(DomainError):
    """The chat, artifact or link does not exist for this actor.

    Unknown, deleted, another tenant's and someone else's private chat all look the same: no existence leak.
    """

    reason = "NOT_FOUND"


class PermissionDeniedError(DomainError):
    """The actor sees the chat or artifact but may not do this (only its owner may)."""

    reason = "PERMISSION_DENIED"


class InvalidCommandError(DomainError):
    """A command field has a value the rules do not accept; ``violations`` say which and why."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: Sequence[Violation] | Violation) -> None:
        items = tuple(violations) if isinstance(violations, Sequence) else (violations,)
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in items) or "invalid command")
        self.violations = items


class VersionConflictError(DomainError):
    """The caller expected another version than the current one (optimistic concurrency): reload and retry."""

    reason = "VERSION_MISMATCH"
