"""Scenario 7: isolation and authentication probes against the real services.

Every RPC as a user of another tenant and as another user of the same tenant, for every visibility: no data (or
exactly what the visibility documents: PUBLIC is readable by id from anywhere, never listed outside its tenant).
Bad JWTs on every RPC: UNAUTHENTICATED; identity fields that disagree with the token: PERMISSION_DENIED. Page,
resume and consistency tokens that are forged, foreign or replayed elsewhere: INVALID_ARGUMENT (an expired resume
token: FAILED_PRECONDITION). SQL-shaped input is plain text. No error message carries another tenant's data or the
service's internals.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from google.protobuf.message import Message

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.live.v1 import live_service_pb2 as live
from ameide_core_proto.live.v1 import live_types_pb2 as live_types
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_readmodel.feed.names import artifact_feed, chat_feed
from ameide_runtime import resume
from tests.reliability.auditor import Auditor
from tests.reliability.rel_client import Caller, Code, Tally, codec_of, text_message
from tests.reliability.rel_fleet import Fleet
from tests.reliability.rel_fuzz import METHODS, SQL_SHAPED
from tests.reliability.rel_probe import bad_authorization
from tests.reliability.rel_tenancy import (
    PRIVATE,
    PUBLIC,
    TEAM,
    Following,
    Tenancy,
    audit_probes,
    build_tenancy,
    ensure_chat,
    named_chats,
)

pytestmark = pytest.mark.reliability

DENIED = {Code.NOT_FOUND, Code.PERMISSION_DENIED}
TALLY = Tally()


@pytest.fixture(scope="module", name="tenancy")
def fixture_tenancy(fleet: Fleet) -> Iterator[Tenancy]:
    """The two tenants and their resources."""
    tenancy = build_tenancy(fleet, TALLY)
    yield tenancy
    tenancy.prober.close()


def _by_chat(chat_id: str, artifact: str) -> dict[str, Message]:
    return {
        "GetChat": chat.GetChatRequest(threads_id=chat_id),
        "GetMessages": chat.GetMessagesRequest(threads_id=chat_id),
        "GetChatArtifacts": chat.GetChatArtifactsRequest(threads_id=chat_id),
        "StreamChatUpdates": chat.StreamChatRequest(threads_id=chat_id),
        "SendMessage": chat.SendMessageRequest(threads_id=chat_id, message=text_message("probe")),
        "UpdateChatTitle": chat.UpdateChatTitleRequest(threads_id=chat_id, title="taken over"),
        "UpdateVisibility": chat.UpdateChatVisibilityRequest(threads_id=chat_id, visibility=PUBLIC),
        "DeleteChat": chat.DeleteChatRequest(threads_id=chat_id),
        "AssociateArtifact": chat.AssociateChatArtifactRequest(threads_id=chat_id, artifact_id=artifact),
        "EnsureChatForArtifactAndSendMessage": chat.EnsureChatForArtifactAndSendMessageRequest(
            artifact_id=artifact, threads_id=chat_id, message=text_message("probe"), idempotency_key=str(uuid.uuid4())
        ),
        # Live signals: looking at a chat is reading it; drafting an answer into it is writing to it.
        "AnnouncePresence": live.AnnouncePresenceRequest(
            threads_id=chat_id, client_id="probe", state=live_types.PRESENCE_STATE_VIEWING
        ),
        "ListPresence": live.ListPresenceRequest(threads_id=chat_id),
        "StartDraft": live.StartDraftRequest(draft_id=str(uuid.uuid4()), threads_id=chat_id, agent_id="probe"),
    }


READS = frozenset(
    {"GetChat", "GetMessages", "GetChatArtifacts", "StreamChatUpdates", "AnnouncePresence", "ListPresence"}
)
OWNER_ONLY = frozenset({"UpdateChatTitle", "UpdateVisibility", "DeleteChat"})


def _expected(name: str, visibility: int, *, same_tenant: bool) -> set[Code]:
    """What a non-owner may be told (design.md section 5)."""
    readable = visibility == PUBLIC or (same_tenant and visibility == TEAM)
    if name in READS:
        return {Code.OK} if readable else {Code.NOT_FOUND}
    if not same_tenant or visibility == PRIVATE:
        return {Code.NOT_FOUND} if not readable else DENIED
    if name in OWNER_ONLY:
        return {Code.PERMISSION_DENIED}
    return {Code.OK}  # a tenant user writes to TEAM and PUBLIC chats and links them to the tenant's artifacts


@pytest.mark.parametrize("visibility", [PRIVATE, TEAM, PUBLIC], ids=["private", "team", "public"])
@pytest.mark.parametrize("who", ["peer", "stranger"])
def test_chat_rpcs_as_another_user_and_another_tenant(
    tenancy: Tenancy, who: str, visibility: types.ChatVisibility.ValueType
) -> None:
    """Each chat RPC as the same tenant's other user and as another tenant's user, per visibility."""
    caller = tenancy.peer if who == "peer" else tenancy.stranger
    chat_id = tenancy.chats[visibility]
    for name, request in _by_chat(chat_id, tenancy.artifact).items():
        allowed = _expected(name, visibility, same_tenant=who == "peer")
        tenancy.prober.expect(name, request, caller.metadata, allowed, f"{who} on {visibility}")
    assert TALLY.wrong == []


def test_artifact_rpcs_as_another_tenant(tenancy: Tenancy) -> None:
    """Another tenant's user: every artifact RPC answers NOT_FOUND, lists never show the artifact."""
    a, who, probe = tenancy.artifact, tenancy.stranger, tenancy.prober
    requests: dict[str, Message] = {
        "GetArtifact": art.GetArtifactRequest(artifact_id=a, include_chats=True),
        "GetArtifactChats": art.GetArtifactChatsRequest(artifact_id=a),
        "GetArtifactHistory": art.GetArtifactHistoryRequest(artifact_id=a),
        "StreamArtifactUpdates": art.StreamArtifactRequest(artifact_id=a),
        "AssociateChat": art.AssociateArtifactChatRequest(artifact_id=a, threads_id=tenancy.own_chat),
        "DissociateChat": art.DissociateArtifactChatRequest(artifact_id=a, threads_id=tenancy.chats[PUBLIC]),
        "UpdateArtifactContent": art.UpdateArtifactContentRequest(
            artifact_id=a, content=art_types.ArtifactContent(mime_type="text/plain", body=b"mine now")
        ),
        "UpdateArtifactMetadata": art.UpdateArtifactMetadataRequest(
            artifact_id=a, metadata=art_types.ArtifactMetadata(title="mine now")
        ),
        "DeleteArtifact": art.DeleteArtifactRequest(artifact_id=a),
    }
    for name, request in requests.items():
        probe.expect(name, request, who.metadata, {Code.NOT_FOUND}, "stranger on artifact")
    peer = probe.expect(
        "DeleteArtifact",
        art.DeleteArtifactRequest(artifact_id=a),
        tenancy.peer.metadata,
        {Code.PERMISSION_DENIED},
        "peer deletes",
    )
    assert peer.code == Code.PERMISSION_DENIED
    seen = probe.expect(
        "GetArtifact",
        art.GetArtifactRequest(artifact_id=a, include_chats=True),
        tenancy.peer.metadata,
        {Code.OK},
        "peer reads",
    )
    assert tenancy.chats[PRIVATE] not in seen.reply.artifact.threads_ids
    links = probe.expect(
        "GetArtifactChats", art.GetArtifactChatsRequest(artifact_id=a), tenancy.peer.metadata, {Code.OK}, "peer links"
    )
    assert tenancy.chats[PRIVATE] not in [c.threads_id for c in links.reply.threads]
    assert TALLY.wrong == []


def test_stream_deliveries_name_only_chats_the_caller_may_read(fleet: Fleet, tenancy: Tenancy) -> None:
    """Chat references in streams, replayed from the start and live, follow the unary reads' rule.

    The artifact's feed names all three of the owner's chats: the peer is sent the TEAM and PUBLIC ones only,
    the owner all of them. The PUBLIC chat's feed holds its link to the artifact: its reader from another tenant
    gets the messages, never the relation. Live, with two projector workers, a private chat and a TEAM chat made
    together with their first messages: the peer's next update names the TEAM one.
    """
    codec, probe, artifact = codec_of(fleet), tenancy.prober, tenancy.artifact
    chats = tenancy.chats

    def replay(who: Caller) -> list[tuple[str, str]]:
        start = resume.issue(codec, tenant_id=who.tenant_id, feed=artifact_feed(artifact), seq=0)
        following = Following(
            probe,
            "StreamArtifactUpdates",
            art.StreamArtifactRequest(artifact_id=artifact, resume_token=start),
            who.metadata,
        )
        try:
            return named_chats(following.until_caught_up())
        finally:
            following.close()

    everything = {("threads_added", chats[v]) for v in (PRIVATE, TEAM, PUBLIC)}
    assert set(replay(tenancy.owner)) == everything
    assert set(replay(tenancy.peer)) == everything - {("threads_added", chats[PRIVATE])}
    shared = chats[PUBLIC]
    for who, relations in ((tenancy.stranger, []), (tenancy.peer, ["relation"])):
        start = resume.issue(codec, tenant_id=who.tenant_id, feed=chat_feed(shared), seq=0)
        following = Following(
            probe, "StreamChatUpdates", chat.StreamChatRequest(threads_id=shared, resume_token=start), who.metadata
        )
        try:
            cases = [u.WhichOneof("update") for u in following.until_caught_up()]
        finally:
            following.close()
        assert [c for c in cases if c != "message"] == relations, who
        assert "message" in cases
    live = Following(
        probe, "StreamArtifactUpdates", art.StreamArtifactRequest(artifact_id=artifact), tenancy.peer.metadata
    )
    try:
        live.until_caught_up()
        hidden = ensure_chat(probe, tenancy.owner, artifact, PRIVATE, "made private with its first message")
        shown = ensure_chat(probe, tenancy.owner, artifact, TEAM, "made for the team with its first message")
        # In order: had the private chat been named to the peer, that update would come first.
        assert named_chats([live.next_data()]) == [("threads_added", shown)]
    finally:
        live.close()
    assert hidden != shown
    assert TALLY.wrong == []


def test_lists_and_search_never_cross_tenants(tenancy: Tenancy) -> None:
    """ListChats, SearchChats and ListArtifacts as the stranger (with SQL-shaped input too) show nothing of A."""
    probe, who = tenancy.prober, tenancy.stranger
    shown: list[str] = []
    for query in (tenancy.secrets[0], "secret", *SQL_SHAPED):
        searched = probe.expect(
            "SearchChats",
            chat.SearchChatsRequest(query=query),
            who.metadata,
            {Code.OK, Code.INVALID_ARGUMENT},
            "search",
        )
        if searched.reply is not None:
            shown += [c.id for c in searched.reply.threads] + list(searched.reply.snippets.values())
        listed = probe.expect(
            "ListChats",
            chat.ListChatsRequest(filter=chat.ChatFilter(query=query)),
            who.metadata,
            {Code.OK, Code.INVALID_ARGUMENT},
            "list",
        )
        if listed.reply is not None:
            shown += [c.id for c in listed.reply.threads]
        kinds = probe.expect(
            "ListArtifacts",
            art.ListArtifactsRequest(kind=query),
            who.metadata,
            {Code.OK, Code.INVALID_ARGUMENT},
            "artifacts",
        )
        if kinds.reply is not None:
            shown += [x.id for x in kinds.reply.artifacts]
    leaked = [item for item in shown if any(secret in item for secret in tenancy.secrets)]
    assert leaked == []
    peer_list = probe.invoke("ListChats", chat.ListChatsRequest(page_size=100), tenancy.peer.metadata)
    assert tenancy.chats[PRIVATE] not in [c.id for c in peer_list.reply.threads]
    assert TALLY.wrong == []


def test_sql_shaped_text_is_stored_and_found_as_plain_text(tenancy: Tenancy) -> None:
    """A chat titled with SQL is created, found by its words, and listed exactly once; the tables are intact."""
    probe, who = tenancy.prober, tenancy.owner
    title = f"{SQL_SHAPED[0]} {uuid.uuid4().hex[:8]}"
    created = probe.expect(
        "CreateChat", chat.CreateChatRequest(title=title, visibility=TEAM), who.metadata, {Code.OK}, "sql title"
    )
    token = created.reply.consistency_token
    found = probe.expect(
        "ListChats", chat.ListChatsRequest(consistency_token=token, page_size=100), who.metadata, {Code.OK}, "sql list"
    )
    assert [c.title for c in found.reply.threads].count(title) == 1
    searched = probe.expect(
        "SearchChats", chat.SearchChatsRequest(query="DROP TABLE"), who.metadata, {Code.OK}, "sql search"
    )
    assert created.reply.threads.id in [c.id for c in searched.reply.threads]
    assert TALLY.wrong == []


def _one_request_per_rpc(tenancy: Tenancy) -> dict[str, Message]:
    requests = _by_chat(tenancy.chats[TEAM], tenancy.artifact)
    requests |= {
        "CreateChat": chat.CreateChatRequest(title="x"),
        "ListChats": chat.ListChatsRequest(),
        "SearchChats": chat.SearchChatsRequest(query="x"),
        "CreateArtifact": art.CreateArtifactRequest(title="x", kind="doc"),
        "AssociateChat": art.AssociateArtifactChatRequest(artifact_id=tenancy.artifact, threads_id=tenancy.chats[TEAM]),
        "DissociateChat": art.DissociateArtifactChatRequest(
            artifact_id=tenancy.artifact, threads_id=tenancy.chats[TEAM]
        ),
        "UpdateArtifactContent": art.UpdateArtifactContentRequest(artifact_id=tenancy.artifact),
        "UpdateArtifactMetadata": art.UpdateArtifactMetadataRequest(artifact_id=tenancy.artifact),
        "DeleteArtifact": art.DeleteArtifactRequest(artifact_id=tenancy.artifact),
        "GetArtifact": art.GetArtifactRequest(artifact_id=tenancy.artifact),
        "ListArtifacts": art.ListArtifactsRequest(),
        "GetArtifactChats": art.GetArtifactChatsRequest(artifact_id=tenancy.artifact),
        "GetArtifactHistory": art.GetArtifactHistoryRequest(artifact_id=tenancy.artifact),
        "StreamArtifactUpdates": art.StreamArtifactRequest(artifact_id=tenancy.artifact),
        "LeavePresence": live.LeavePresenceRequest(threads_id=tenancy.chats[TEAM], client_id="probe"),
        "AppendDraft": live.AppendDraftRequest(draft_id=str(uuid.uuid4()), seq=1, text="probe"),
        "CompleteDraft": live.CompleteDraftRequest(draft_id=str(uuid.uuid4())),
        "AbandonDraft": live.AbandonDraftRequest(draft_id=str(uuid.uuid4())),
        "StreamDraft": live.StreamDraftRequest(
            start=live.StartDraftRequest(draft_id=str(uuid.uuid4()), threads_id=tenancy.chats[TEAM], agent_id="probe")
        ),
    }
    assert set(requests) == {m.name for m in METHODS}
    return requests


def test_bad_credentials_on_every_rpc(fleet: Fleet, tenancy: Tenancy) -> None:
    """Expired, not-yet-valid, wrongly signed, alg-none, incomplete or missing credentials: UNAUTHENTICATED."""
    secret, owner = fleet.jwt_secret, tenancy.owner
    for label, metadata in bad_authorization(secret, owner.user_id, owner.tenant_id).items():
        for name, request in _one_request_per_rpc(tenancy).items():
            tenancy.prober.expect(name, request, metadata, {Code.UNAUTHENTICATED}, label)
    assert TALLY.wrong == []


def test_identity_fields_that_disagree_with_the_token(tenancy: Tenancy) -> None:
    """A tenant_id (or user_id) in the request that differs from the token's: PERMISSION_DENIED, on every RPC."""
    for name, request in _one_request_per_rpc(tenancy).items():
        for field, value in (("tenant_id", tenancy.stranger.tenant_id), ("user_id", tenancy.peer.user_id)):
            if field not in request.DESCRIPTOR.fields_by_name:
                continue
            forged = type(request)()
            forged.CopyFrom(request)
            setattr(forged, field, value)
            tenancy.prober.expect(name, forged, tenancy.owner.metadata, {Code.PERMISSION_DENIED}, f"forged {field}")
    assert TALLY.wrong == []


async def test_isolation_probes_leave_no_trace(tenancy: Tenancy, auditor: Auditor) -> None:
    """No error message names tenant A's data or internals; the refused writes changed nothing (the auditor)."""
    await audit_probes(
        tenancy,
        auditor,
        TALLY,
        "7a isolation matrix, bad JWTs, forged identity, SQL-shaped input",
        load=f"{len(METHODS)} RPCs x (2 callers x 3 visibilities, 17 credential faults, 2 identity forgeries)",
    )
