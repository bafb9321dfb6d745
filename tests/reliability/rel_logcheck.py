"""The auditor's view of the event log: per-key effects of acknowledged writes, and whole-log invariants."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ameide_core_proto.artifacts.v1 import artifacts_events_pb2 as art_events
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_events
from tests.reliability.rel_load import Ledger, Op

MESSAGE_SENT = chat_events.MessageSentEvent.DESCRIPTOR.full_name
CHAT_CREATED = chat_events.ChatCreatedEvent.DESCRIPTOR.full_name
CHAT_DELETED = chat_events.ChatDeletedEvent.DESCRIPTOR.full_name
ASSOCIATED = chat_events.ArtifactAssociatedEvent.DESCRIPTOR.full_name
DISSOCIATED = chat_events.ArtifactDissociatedEvent.DESCRIPTOR.full_name
ARTIFACT_CREATED = art_events.ArtifactCreatedEvent.DESCRIPTOR.full_name
LINKED = art_events.ArtifactChatLinkedEvent.DESCRIPTOR.full_name
UNLINKED = art_events.ArtifactChatUnlinkedEvent.DESCRIPTOR.full_name

_KEYED = sa.text(
    "SELECT stream_id, event_type, payload, metadata->>'idempotency_key' AS key, metadata->>'tenant_id' AS tenant, "
    "metadata->>'user_id' AS user_id FROM es_events WHERE metadata->>'idempotency_key' = ANY(:keys)"
)
_STREAMS = sa.text(
    "SELECT s.stream_id, s.stream_type, s.version, count(e.version) AS n, coalesce(max(e.version), 0) AS top, "
    "coalesce(min(e.version), 0) AS bottom FROM es_streams s LEFT JOIN es_events e ON e.stream_id = s.stream_id "
    "GROUP BY s.stream_id, s.stream_type, s.version"
)
_FIRSTS = sa.text("SELECT stream_id, stream_type, event_type FROM es_events WHERE version = 1")
_AFTER_DELETE = sa.text(
    "SELECT d.stream_id, count(*) AS n FROM es_events d JOIN es_events e ON e.stream_id = d.stream_id "
    "AND e.version > d.version WHERE d.event_type = :deleted GROUP BY d.stream_id"
)
_PAIRS = sa.text(
    "SELECT stream_id, event_type, payload, metadata->>'causation_id' AS causation FROM es_events "
    "WHERE event_type = ANY(:types)"
)
_MESSAGE_IDS = sa.text("SELECT payload FROM es_events WHERE event_type = :sent")


@dataclasses.dataclass
class KeyEffects:
    """What the log holds under one idempotency key."""

    types: list[str] = dataclasses.field(default_factory=list)
    message_ids: list[str] = dataclasses.field(default_factory=list)
    created_chats: list[str] = dataclasses.field(default_factory=list)
    created_artifacts: list[str] = dataclasses.field(default_factory=list)
    owners: set[tuple[str, str]] = dataclasses.field(default_factory=set)


async def effects_by_key(conn: AsyncConnection, keys: Sequence[str]) -> dict[str, KeyEffects]:
    """Events recorded under each key."""
    found: dict[str, KeyEffects] = collections.defaultdict(KeyEffects)
    for start in range(0, len(keys), 5000):
        rows = await conn.execute(_KEYED, {"keys": list(keys[start : start + 5000])})
        for row in rows:
            effects = found[row.key]
            effects.types.append(row.event_type)
            effects.owners.add((row.tenant, row.user_id))
            if row.event_type == MESSAGE_SENT:
                effects.message_ids.append(chat_events.MessageSentEvent.FromString(row.payload).message_id)
            elif row.event_type == CHAT_CREATED:
                effects.created_chats.append(str(row.stream_id))
            elif row.event_type == ARTIFACT_CREATED:
                effects.created_artifacts.append(str(row.stream_id))
    return found


def _ack_id(op: Op) -> str:
    if op.carries_message:
        return op.message_id
    if op.kind == "create_chat":
        return op.chat_id
    return str(op.ack.artifact_id)


def _logged_ids(op: Op, effects: KeyEffects) -> list[str]:
    if op.carries_message:
        return effects.message_ids
    if op.kind == "create_chat":
        return effects.created_chats
    return effects.created_artifacts


@dataclasses.dataclass
class LedgerFindings:
    """Acknowledged writes against the log."""

    lost: list[str] = dataclasses.field(default_factory=list)
    duplicated: list[str] = dataclasses.field(default_factory=list)
    mismatched: list[str] = dataclasses.field(default_factory=list)
    half_applied: list[str] = dataclasses.field(default_factory=list)


def _complete(op: Op, effects: KeyEffects) -> bool:
    """All-or-nothing: an Ensure that created a chat has its message, link and the artifact's side too."""
    counts = collections.Counter(effects.types)
    if op.kind == "ensure_new" and counts:
        return counts == collections.Counter({CHAT_CREATED: 1, ASSOCIATED: 1, MESSAGE_SENT: 1, LINKED: 1})
    if op.kind == "ensure_existing" and counts:
        return counts[MESSAGE_SENT] == 1 and counts[ASSOCIATED] == counts[LINKED] <= 1
    return True


async def check_ledger(conn: AsyncConnection, ledger: Ledger) -> LedgerFindings:
    """Every acknowledged write exactly once, with the ids its client was told; nothing half-applied."""
    findings = LedgerFindings()
    effects = await effects_by_key(conn, [op.key for op in ledger.ops])
    for op in ledger.ops:
        found = effects.get(op.key, KeyEffects())
        logged = _logged_ids(op, found)
        if len(logged) > 1:
            findings.duplicated.append(f"{op.kind} {op.key}: {len(logged)} effects")
        if not _complete(op, found):
            findings.half_applied.append(f"{op.kind} {op.key}: {sorted(found.types)}")
        if found.owners - {(op.caller.tenant_id, op.caller.user_id)}:
            findings.mismatched.append(f"{op.key} recorded for {found.owners}")
        if op.rejected is not None and found.types:
            findings.half_applied.append(f"{op.kind} {op.key} refused with {op.rejected.name} yet {found.types}")
        if op.ack is None:
            continue
        if not logged:
            findings.lost.append(f"{op.kind} {op.key} acknowledged as {_ack_id(op)} but not in the log")
        elif _ack_id(op) not in logged:
            findings.mismatched.append(f"{op.kind} {op.key}: client told {_ack_id(op)}, log has {logged}")
    return findings


def _pair_key(event_type: str, payload: bytes) -> tuple[str, str, str]:
    if event_type in {ASSOCIATED, DISSOCIATED}:
        message = (
            chat_events.ArtifactAssociatedEvent if event_type == ASSOCIATED else chat_events.ArtifactDissociatedEvent
        )
        parsed = message.FromString(payload)
        kind = "link" if event_type == ASSOCIATED else "unlink"
        return kind, parsed.threads_id, parsed.artifact_id
    if event_type == LINKED:
        linked = art_events.ArtifactChatLinkedEvent.FromString(payload)
        return "link", linked.threads_id, linked.artifact_id
    unlinked = art_events.ArtifactChatUnlinkedEvent.FromString(payload)
    return "unlink", unlinked.threads_id, unlinked.artifact_id


async def check_log(conn: AsyncConnection) -> list[str]:
    """Invariants of the whole log, independent of any client."""
    problems = [
        f"stream {row.stream_id}: head {row.version}, {row.n} events, versions {row.bottom}..{row.top}"
        for row in await conn.execute(_STREAMS)
        if not (row.version == row.n == row.top and row.bottom in (0, 1))
    ]
    firsts = {"chat": CHAT_CREATED, "artifact": ARTIFACT_CREATED}
    problems += [
        f"stream {row.stream_id} starts with {row.event_type}"
        for row in await conn.execute(_FIRSTS)
        if firsts.get(row.stream_type) != row.event_type
    ]
    problems += [
        f"chat {row.stream_id}: {row.n} events after its deletion"
        for row in await conn.execute(_AFTER_DELETE, {"deleted": CHAT_DELETED})
    ]
    sides: dict[tuple[str, tuple[str, str, str]], collections.Counter[str]] = collections.defaultdict(
        collections.Counter
    )
    for row in await conn.execute(_PAIRS, {"types": [ASSOCIATED, DISSOCIATED, LINKED, UNLINKED]}):
        side = "chat" if row.event_type in {ASSOCIATED, DISSOCIATED} else "artifact"
        sides[(row.causation, _pair_key(row.event_type, row.payload))][side] += 1
    problems += [
        f"request {causation}: {pair[0]} {pair[1]}/{pair[2]} recorded {dict(count)} (both sides must agree)"
        for (causation, pair), count in sides.items()
        if count["chat"] != count["artifact"]
    ]
    ids = collections.Counter(
        chat_events.MessageSentEvent.FromString(row.payload).message_id
        for row in await conn.execute(_MESSAGE_IDS, {"sent": MESSAGE_SENT})
    )
    problems += [f"message {mid} recorded {n} times" for mid, n in ids.items() if n > 1]
    return problems
