"""PresenceService and DraftService requests: every bad field named at once."""

from __future__ import annotations

import uuid

import pytest

from ameide_core_proto.live.v1 import live_service_pb2 as svc
from ameide_query.live import validation
from ameide_runtime.errors import InvalidArgument

pytestmark = pytest.mark.unit


def violations(check: validation.Violations) -> list[str]:
    """The fields ``check`` refused."""
    with pytest.raises(InvalidArgument) as caught:
        check.check()
    return [v.field for v in caught.value.violations]


def test_a_presence_request_names_one_resource_by_uuid() -> None:
    """Neither a chat nor an artifact, or a malformed id, is refused with the field."""
    checks = validation.Violations()
    assert validation.resource(svc.ListPresenceRequest(), checks) is None
    assert validation.resource(svc.ListPresenceRequest(artifact_id="nope"), checks) is None
    assert violations(checks) == ["resource", "artifact_id"]
    chat = str(uuid.uuid4())
    found = validation.resource(svc.ListPresenceRequest(threads_id=chat), validation.Violations())
    assert found is not None
    assert (found.is_chat, found.feed_key) == (True, f"thread:{chat}")


@pytest.mark.parametrize("client_id", ["", "a" * 65, "tab 1", "tab/1", "ü"])
def test_client_ids_are_short_and_plain(client_id: str) -> None:
    """1-64 of [A-Za-z0-9._:-]."""
    checks = validation.Violations()
    validation.client_id(client_id, checks)
    assert violations(checks) == ["client_id"]


def test_state_display_name_and_sequence() -> None:
    """UNSPECIFIED state, a long or unprintable name, a negative sequence."""
    checks = validation.Violations()
    validation.presence_state(0, checks)
    checks.text("display_name", "x" * 65, validation.MAX_DISPLAY_NAME_CHARS)
    checks.text("reason", "bell\x07", validation.MAX_REASON_CHARS)
    validation.seq(-1, checks)
    assert violations(checks) == ["state", "display_name", "reason", "seq"]
