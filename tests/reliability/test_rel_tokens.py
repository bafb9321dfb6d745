"""Scenario 7 (tokens): page, resume and consistency tokens that are forged, foreign or replayed elsewhere.

Page tokens are bound to the caller and the query; resume tokens to the tenant and the feed; all are signed. Any
misuse answers INVALID_ARGUMENT; an expired resume token FAILED_PRECONDITION (RESUME_TOKEN_EXPIRED). Finally,
no error message of the isolation and token probes carries another tenant's data or the service's internals.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import pytest
from google.protobuf.message import Message

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from ameide_readmodel.feed.names import chat_feed
from ameide_runtime import resume
from tests.reliability.auditor import Auditor
from tests.reliability.rel_client import Caller, Code, Tally, codec_of, text_message
from tests.reliability.rel_fleet import Fleet
from tests.reliability.rel_tenancy import PUBLIC, TEAM, Tenancy, audit_probes, build_tenancy

pytestmark = pytest.mark.reliability

TALLY = Tally()
INVALID = {Code.INVALID_ARGUMENT}


@pytest.fixture(scope="module", name="tenancy")
def fixture_tenancy(fleet: Fleet) -> Iterator[Tenancy]:
    """Both tenants (fresh ones: this module's probes are counted on their own)."""
    tenancy = build_tenancy(fleet, TALLY)
    yield tenancy
    tenancy.prober.close()


def _tampered(token: str) -> str:
    body, _, mac = token.partition(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=") + "." + mac


def _page_token(tenancy: Tenancy, name: str, request: Message, who: Caller) -> str:
    answer = tenancy.prober.expect(name, request, who.metadata, {Code.OK}, f"first page of {name}")
    token = str(answer.reply.next_page_token)
    assert token, f"{name} returned a single page"
    return token


def test_page_tokens_are_bound_to_caller_query_and_signature(tenancy: Tenancy) -> None:
    """A page token replayed by another caller, with another filter or query, tampered or random: INVALID."""
    owner, probe = tenancy.owner, tenancy.prober
    listed = _page_token(tenancy, "ListChats", chat.ListChatsRequest(page_size=1), owner)
    team = tenancy.chats[TEAM]
    second = probe.expect(
        "SendMessage",
        chat.SendMessageRequest(threads_id=team, message=text_message("2nd")),
        owner.metadata,
        {Code.OK},
        "second",
    )
    first_page = chat.GetMessagesRequest(threads_id=team, page_size=1, consistency_token=second.reply.consistency_token)
    messages = _page_token(tenancy, "GetMessages", first_page, owner)
    misuse: dict[str, tuple[str, Message, Caller]] = {
        "list token, other tenant": (
            "ListChats",
            chat.ListChatsRequest(page_size=1, page_token=listed),
            tenancy.stranger,
        ),
        "list token, other user": ("ListChats", chat.ListChatsRequest(page_size=1, page_token=listed), tenancy.peer),
        "list token, other filter": (
            "ListChats",
            chat.ListChatsRequest(page_size=1, page_token=listed, filter=chat.ChatFilter(visibility=TEAM)),
            owner,
        ),
        "list token, tampered": ("ListChats", chat.ListChatsRequest(page_token=_tampered(listed)), owner),
        "list token for search": ("SearchChats", chat.SearchChatsRequest(query="message", page_token=listed), owner),
        "list token for artifacts": ("ListArtifacts", art.ListArtifactsRequest(page_token=listed), owner),
        "list token for messages": ("GetMessages", chat.GetMessagesRequest(threads_id=team, page_token=listed), owner),
        "messages token, other chat": (
            "GetMessages",
            chat.GetMessagesRequest(threads_id=tenancy.chats[PUBLIC], page_token=messages),
            owner,
        ),
        "messages token, other order": (
            "GetMessages",
            chat.GetMessagesRequest(threads_id=team, page_token=messages, newest_first=True),
            owner,
        ),
        "random bytes": ("ListChats", chat.ListChatsRequest(page_token=base64.b64encode(b"\x00" * 40).decode()), owner),
        "resume token as page token": (
            "ListChats",
            chat.ListChatsRequest(page_token=_checkpoint(tenancy, team)),
            owner,
        ),
    }
    for label, (name, request, who) in misuse.items():
        probe.expect(name, request, who.metadata, INVALID, label)
    assert TALLY.wrong == []


def _checkpoint(tenancy: Tenancy, chat_id: str, who: Caller | None = None) -> str:
    who = who or tenancy.owner
    answer = tenancy.prober.expect("GetChat", chat.GetChatRequest(threads_id=chat_id), who.metadata, {Code.OK}, "load")
    return str(answer.reply.checkpoint_token)


def test_resume_tokens_are_bound_to_tenant_feed_and_signature(fleet: Fleet, tenancy: Tenancy) -> None:
    """A resume token for another feed or tenant, forged, of another kind or random: INVALID; expired: FAILED."""
    probe, owner, stranger = tenancy.prober, tenancy.owner, tenancy.stranger
    team, public = tenancy.chats[TEAM], tenancy.chats[PUBLIC]
    team_token, public_token = _checkpoint(tenancy, team), _checkpoint(tenancy, public)
    expired = resume.issue(
        codec_of(fleet), tenant_id=owner.tenant_id, feed=chat_feed(team), seq=1, now=time.time() - 3 * 86400
    )
    misuse: dict[str, tuple[str, Message, Caller, set[Code]]] = {
        "other feed": (
            "StreamChatUpdates",
            chat.StreamChatRequest(threads_id=public, resume_token=team_token),
            owner,
            INVALID,
        ),
        "other tenant, public chat": (
            "StreamChatUpdates",
            chat.StreamChatRequest(threads_id=public, resume_token=public_token),
            stranger,
            INVALID,
        ),
        "other tenant's token on own chat": (
            "StreamChatUpdates",
            chat.StreamChatRequest(threads_id=tenancy.own_chat, resume_token=team_token),
            stranger,
            INVALID,
        ),
        "tampered": (
            "StreamChatUpdates",
            chat.StreamChatRequest(threads_id=team, resume_token=_tampered(team_token)),
            owner,
            INVALID,
        ),
        "random": (
            "StreamChatUpdates",
            chat.StreamChatRequest(threads_id=team, resume_token="QUFBQQ.QkJCQg"),
            owner,
            INVALID,
        ),
        "chat token on artifact": (
            "StreamArtifactUpdates",
            art.StreamArtifactRequest(artifact_id=tenancy.artifact, resume_token=team_token),
            owner,
            INVALID,
        ),
        "consistency token as resume token": (
            "StreamChatUpdates",
            chat.StreamChatRequest(threads_id=team, resume_token=_consistency(tenancy)),
            owner,
            INVALID,
        ),
        "expired": (
            "StreamChatUpdates",
            chat.StreamChatRequest(threads_id=team, resume_token=expired),
            owner,
            {Code.FAILED_PRECONDITION},
        ),
    }
    for label, (name, request, who, allowed) in misuse.items():
        probe.expect(name, request, who.metadata, allowed, label)
    own = _checkpoint(tenancy, public, stranger)
    fine = probe.expect(
        "StreamChatUpdates",
        chat.StreamChatRequest(threads_id=public, resume_token=own),
        stranger.metadata,
        {Code.OK},
        "own token",
    )
    assert fine.reply.control.kind == fine.reply.control.KIND_SUBSCRIBED
    assert TALLY.wrong == []


def _consistency(tenancy: Tenancy) -> str:
    sent = tenancy.prober.expect(
        "SendMessage",
        chat.SendMessageRequest(threads_id=tenancy.chats[TEAM], message=text_message("for a token")),
        tenancy.owner.metadata,
        {Code.OK},
        "token source",
    )
    return str(sent.reply.consistency_token)


def test_forged_consistency_tokens(tenancy: Tenancy) -> None:
    """A tampered or foreign-kind consistency token on every read that takes one: INVALID_ARGUMENT."""
    forged = _tampered(_consistency(tenancy))
    page = _checkpoint(tenancy, tenancy.chats[TEAM])
    team, owner = tenancy.chats[TEAM], tenancy.owner
    for token in (forged, page):
        reads: dict[str, Message] = {
            "GetChat": chat.GetChatRequest(threads_id=team, consistency_token=token),
            "GetMessages": chat.GetMessagesRequest(threads_id=team, consistency_token=token),
            "ListChats": chat.ListChatsRequest(consistency_token=token),
            "GetArtifact": art.GetArtifactRequest(artifact_id=tenancy.artifact, consistency_token=token),
            "ListArtifacts": art.ListArtifactsRequest(consistency_token=token),
        }
        for name, request in reads.items():
            tenancy.prober.expect(name, request, owner.metadata, INVALID, "forged consistency token")
    assert TALLY.wrong == []


async def test_error_messages_carry_no_foreign_data_or_internals(tenancy: Tenancy, auditor: Auditor) -> None:
    """Every error message of the probes: none names A's secrets to others, none shows SQL or a traceback."""
    await audit_probes(
        tenancy,
        auditor,
        TALLY,
        "7b forged / foreign / expired tokens",
        load="page, resume and consistency token misuse",
    )
