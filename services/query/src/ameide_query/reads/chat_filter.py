"""ChatFilter validation (shared by ListChats and SearchChats)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_query.reads.common import parse_id
from ameide_query.views.chats import ChatFilterValues
from ameide_runtime.errors import FieldViolation, InvalidArgument

_VISIBILITIES = frozenset(types.ChatVisibility.values())
MAX_ARTIFACT_IDS = 100


def chat_filter(message: svc.ChatFilter, field: str = "filter") -> ChatFilterValues:
    """The validated filter; INVALID_ARGUMENT naming the bad field."""
    if message.visibility not in _VISIBILITIES:
        raise InvalidArgument(FieldViolation(f"{field}.visibility", "unknown visibility"))
    if len(message.artifact_ids) > MAX_ARTIFACT_IDS:
        raise InvalidArgument(FieldViolation(f"{field}.artifact_ids", f"at most {MAX_ARTIFACT_IDS} ids"))
    ids = sorted({parse_id(v, f"{field}.artifact_ids[{i}]") for i, v in enumerate(message.artifact_ids)})
    after = _timestamp(message, "created_after", field)
    before = _timestamp(message, "created_before", field)
    return ChatFilterValues(
        visibility=int(message.visibility),
        created_after=after,
        created_before=before,
        artifact_ids=tuple(ids),
        query=message.query.strip(),
    )


def _timestamp(
    message: svc.ChatFilter, name: Literal["created_after", "created_before"], field: str
) -> dt.datetime | None:
    # A Timestamp with nanos outside 0..999999999 or seconds beyond year 9999 does not convert: client input.
    if not message.HasField(name):
        return None
    try:
        return getattr(message, name).ToDatetime(tzinfo=dt.UTC)  # type: ignore[no-any-return]
    except (ValueError, OverflowError) as exc:
        raise InvalidArgument(FieldViolation(f"{field}.{name}", "not a valid timestamp")) from exc


def binding(values: ChatFilterValues) -> dict[str, object]:
    """What a page token of a filtered list is bound to."""
    return {
        "v": values.visibility,
        "a": values.created_after.isoformat() if values.created_after else "",
        "b": values.created_before.isoformat() if values.created_before else "",
        "ids": [str(i) for i in values.artifact_ids],
        "q": values.query,
    }
