"""Snapshots: the decision state of a stream as compact JSON, stored on the stream row with every append.

A snapshot is a cache of ``evolve`` over the stream's events, never the source of truth: one of another format
version (or none) is rebuilt from the events. Times are epoch microseconds to keep it small and exact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ameide_command.domain.linkmap import LinkMap, from_micros, to_micros
from ameide_command.domain.model import ArtifactState, ChatState, Link, Visibility

FORMAT = 1  # chat snapshots
# Artifact snapshots: format 2 no longer lists the linked chats (``ArtifactState`` does not keep them). Format 1
# snapshots load too, their ``links`` ignored: the rest is the same state, so no stream is replayed for it; an
# older reader treats format 2 as unknown and replays the events instead.
ARTIFACT_FORMAT = 2
_ARTIFACT_FORMATS = frozenset({1, ARTIFACT_FORMAT})
_micros = to_micros
_time = from_micros


def _links(links: Mapping[str, Link]) -> dict[str, list[Any]]:
    return LinkMap.of(links).raw


def _parse_links(raw: dict[str, list[Any]]) -> LinkMap:
    return LinkMap(raw)


# One encoder for every snapshot: ``json.dumps`` with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _dump(document: dict[str, Any]) -> bytes:
    return _ENCODER.encode(document).encode()


def dump_chat(state: ChatState) -> bytes:
    """Serialize a chat's decision state."""
    return _dump(
        {
            "f": FORMAT,
            "id": state.chat_id,
            "tenant": state.tenant_id,
            "owner": state.owner_id,
            "title": state.title,
            "vis": int(state.visibility),
            "agent": state.agent_id,
            "created": _micros(state.created_at),
            "updated": _micros(state.updated_at),
            "active": _micros(state.last_activity_at),
            "version": state.version,
            "messages": state.message_count,
            "deleted": state.deleted,
            "labels": dict(state.labels),
            "description": state.description,
            "tags": list(state.tags),
            "links": _links(state.artifacts),
        }
    )


def load_chat(raw: bytes) -> ChatState | None:
    """A chat's decision state, or ``None`` when the snapshot is of another format (rebuild from events)."""
    doc = json.loads(raw)
    if not isinstance(doc, dict) or doc.get("f") != FORMAT:
        return None
    return ChatState(
        chat_id=doc["id"],
        tenant_id=doc["tenant"],
        owner_id=doc["owner"],
        title=doc["title"],
        visibility=Visibility(doc["vis"]),
        agent_id=doc["agent"],
        created_at=_time(doc["created"]),
        updated_at=_time(doc["updated"]),
        last_activity_at=_time(doc["active"]),
        version=doc["version"],
        message_count=doc["messages"],
        deleted=doc["deleted"],
        labels=doc["labels"],
        description=doc["description"],
        tags=tuple(doc["tags"]),
        artifacts=_parse_links(doc["links"]),
    )


def dump_artifact(state: ArtifactState) -> bytes:
    """Serialize an artifact's decision state."""
    return _dump(
        {
            "f": ARTIFACT_FORMAT,
            "id": state.artifact_id,
            "tenant": state.tenant_id,
            "owner": state.owner_id,
            "title": state.title,
            "kind": state.kind,
            "created": _micros(state.created_at),
            "updated": _micros(state.updated_at),
            "version": state.version,
            "cv": state.content_version,
            "deleted": state.deleted,
            "primary": state.primary_chat_id,
            "labels": dict(state.labels),
        }
    )


def load_artifact(raw: bytes) -> ArtifactState | None:
    """An artifact's decision state, or ``None`` when the snapshot is of another format.

    A snapshot written before the content version existed lacks ``cv``: ``None`` too, so the stream is rebuilt
    from its events once (the stream version cannot tell links from content changes). The ``links`` of a format 1
    snapshot are not read.
    """
    doc = json.loads(raw)
    if not isinstance(doc, dict) or doc.get("f") not in _ARTIFACT_FORMATS or "cv" not in doc:
        return None
    return ArtifactState(
        artifact_id=doc["id"],
        tenant_id=doc["tenant"],
        owner_id=doc["owner"],
        title=doc["title"],
        kind=doc["kind"],
        created_at=_time(doc["created"]),
        updated_at=_time(doc["updated"]),
        version=doc["version"],
        content_version=doc["cv"],
        deleted=doc["deleted"],
        primary_chat_id=doc["primary"],
        labels=doc["labels"],
    )
