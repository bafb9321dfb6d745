"""Checks of PresenceService and DraftService requests: INVALID_ARGUMENT naming every bad field."""

from __future__ import annotations

import re
import uuid

from ameide_core_proto.live.v1 import live_service_pb2 as svc
from ameide_core_proto.live.v1 import live_types_pb2 as types
from ameide_query.live.access import Resource
from ameide_runtime.errors import FieldViolation, InvalidArgument

MAX_DISPLAY_NAME_CHARS = 64
MAX_AGENT_CHARS = 128
MAX_REASON_CHARS = 256
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

PresenceRequest = svc.AnnouncePresenceRequest | svc.LeavePresenceRequest | svc.ListPresenceRequest


class Violations:
    """Collects violations; ``check()`` raises them all at once."""

    def __init__(self) -> None:
        self.found: list[FieldViolation] = []

    def fail(self, field: str, description: str) -> None:
        """Record one."""
        self.found.append(FieldViolation(field, description))

    def uuid(self, field: str, value: str) -> uuid.UUID | None:
        """``value`` as a UUID (required)."""
        if not value:
            self.fail(field, "required")
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            self.fail(field, "must be a UUID")
            return None

    def text(self, field: str, value: str, limit: int, *, required: bool = False) -> None:
        """A printable text of at most ``limit`` characters."""
        if required and not value:
            self.fail(field, "required")
        elif len(value) > limit:
            self.fail(field, f"at most {limit} characters")
        elif value and not value.isprintable():
            self.fail(field, "must be printable")

    def check(self) -> None:
        """Raise INVALID_ARGUMENT with every violation found."""
        if self.found:
            raise InvalidArgument(self.found)


def resource(request: PresenceRequest, checks: Violations) -> Resource | None:
    """The chat or artifact a presence request names."""
    case = request.WhichOneof("resource")
    if case is None:
        checks.fail("resource", "threads_id or artifact_id is required")
        return None
    parsed = checks.uuid(case, getattr(request, case))
    return None if parsed is None else Resource(is_chat=case == "threads_id", resource_id=parsed)


def client_id(value: str, checks: Violations) -> None:
    """A client id: 1-64 of [A-Za-z0-9._:-]."""
    if _CLIENT_ID.fullmatch(value) is None:
        checks.fail("client_id", "1-64 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'")


def presence_state(value: int, checks: Violations) -> None:
    """VIEWING or TYPING."""
    if value not in (types.PRESENCE_STATE_VIEWING, types.PRESENCE_STATE_TYPING):
        checks.fail("state", "must be PRESENCE_STATE_VIEWING or PRESENCE_STATE_TYPING")


def draft_id(value: str, checks: Violations, field: str = "draft_id") -> str:
    """A draft id (a UUID), in its canonical form."""
    parsed = checks.uuid(field, value)
    return str(parsed) if parsed is not None else ""


def seq(value: int, checks: Violations, field: str = "seq") -> None:
    """A delta's sequence number: 0 (the next) or above."""
    if value < 0:
        checks.fail(field, "must not be negative")
