"""Two tenants with resources of every visibility, for the isolation and token probes."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from tests.reliability.auditor import Auditor
from tests.reliability.rel_client import Caller, Code, Tally, new_tenant, text_message
from tests.reliability.rel_fleet import Fleet
from tests.reliability.rel_fuzz import call
from tests.reliability.rel_load import Ledger
from tests.reliability.rel_probe import BY_NAME, INTERNALS, Prober
from tests.reliability.rel_report import record

PRIVATE, TEAM, PUBLIC = types.CHAT_VISIBILITY_PRIVATE, types.CHAT_VISIBILITY_TEAM, types.CHAT_VISIBILITY_PUBLIC


@dataclasses.dataclass
class Tenancy:
    """Tenant A (owner, peer) with an artifact and a chat per visibility; tenant B (stranger) with its own chat."""

    owner: Caller
    peer: Caller
    stranger: Caller
    artifact: str
    chats: dict[types.ChatVisibility.ValueType, str]
    secrets: list[str]
    own_chat: str
    prober: Prober


def ensure_chat(prober: Prober, who: Caller, artifact: str, visibility: int, text: str) -> str:
    """A new chat of ``who`` about ``artifact`` with its first message (one Ensure), visible to the query side."""
    request = chat.EnsureChatForArtifactAndSendMessageRequest(
        artifact_id=artifact, message=text_message(text), idempotency_key=str(uuid.uuid4())
    )
    request.visibility = visibility  # type: ignore[assignment]
    answer = prober.invoke("EnsureChatForArtifactAndSendMessage", request, who.metadata)
    assert answer.code == Code.OK, answer
    chat_id = str(answer.reply.threads_id)
    consistent = chat.GetChatRequest(threads_id=chat_id, consistency_token=answer.reply.consistency_token)
    assert prober.invoke("GetChat", consistent, who.metadata).code == Code.OK
    return chat_id


def build_tenancy(fleet: Fleet, tally: Tally) -> Tenancy:
    """Create both tenants' resources (through the services, as clients would)."""
    owner, peer = new_tenant(fleet, "owner", "peer")
    (stranger,) = new_tenant(fleet, "stranger")
    prober = Prober(fleet, tally)
    secret = f"secret-{uuid.uuid4().hex}"
    created = prober.invoke(
        "CreateArtifact",
        art.CreateArtifactRequest(
            title=f"{secret}-artifact",
            kind="bpmn",
            metadata={"owner-note": secret},
            content=art_types.ArtifactContent(mime_type="text/plain", body=secret.encode()),
        ),
        owner.metadata,
    )
    artifact = str(created.reply.artifact_id)
    chats = {
        vis: ensure_chat(prober, owner, artifact, vis, f"{secret} message {vis}") for vis in (PRIVATE, TEAM, PUBLIC)
    }
    theirs = prober.invoke("CreateArtifact", art.CreateArtifactRequest(title="B's", kind="doc"), stranger.metadata)
    own_chat = ensure_chat(prober, stranger, str(theirs.reply.artifact_id), TEAM, "stranger's own")
    return Tenancy(owner, peer, stranger, artifact, chats, [secret, *chats.values(), artifact], own_chat, prober)


async def audit_probes(tenancy: Tenancy, auditor: Auditor, tally: Tally, scenario: str, *, load: str) -> None:
    """End a probe scenario: nothing leaked, nothing changed, no wrong code; its row goes into the table.

    No error message names tenant A's data or internals (SQL, tracebacks); the refused writes changed nothing (the
    auditor); no client was told a status code outside the documented ones.
    """
    messages = tenancy.prober.messages
    leaks = [m for m in messages if tenancy.secrets[0] in m or any(i in m for i in INTERNALS)]
    verdict = await auditor.audit(Ledger())
    notes = f"codes {dict(tally.codes)}; {len(messages)} error messages checked"
    record(scenario, load=load, faults="-", tally=tally, verdict=verdict, notes=notes)
    assert leaks == []
    assert verdict.ok, verdict.report()
    assert tally.wrong == []


def named_chats(updates: list[Any]) -> list[tuple[str, str]]:
    """(case, chat id) of each artifact update naming a chat."""
    found = []
    for update in updates:
        case = update.WhichOneof("update")
        if case == "threads_added":
            found.append((case, update.threads_added.threads_id))
        elif case == "threads_removed":
            found.append((case, update.threads_removed.threads_id))
    return found


class Following:
    """A stream read as a careful client does, one update at a time (synchronous, with a deadline)."""

    def __init__(self, prober: Prober, name: str, request: Any, metadata: Any) -> None:
        method = BY_NAME[name]
        self._call = call(prober.channel(method), method, request.SerializeToString(), metadata, timeout=60)
        self._updates: Iterator[Any] = iter(self._call)

    def until_caught_up(self) -> list[Any]:
        """The data updates replayed after the resume token (the stream's CAUGHT_UP ends the replay)."""
        found = []
        for update in self._updates:
            if update.WhichOneof("update") != "control":
                found.append(update)
            elif update.control.kind == types.StreamControl.KIND_CAUGHT_UP:
                return found
        raise AssertionError("the stream ended before CAUGHT_UP")

    def next_data(self) -> Any:
        """The next data update (control messages skipped)."""
        for update in self._updates:
            if update.WhichOneof("update") != "control":
                return update
        raise AssertionError("the stream ended")

    def close(self) -> None:
        """Cancel the call."""
        self._call.cancel()
