"""The read rules of design.md section 5 as pure functions: who may read and who may list a chat or artifact."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from ameide_query.views.access import can_list_chat, can_read_artifact, can_read_chat
from ameide_query.views.fulltext import wants_prefix
from ameide_query.views.rows import PRIVATE, PUBLIC, TEAM
from ameide_readmodel.artifacts import ArtifactRow
from ameide_readmodel.chats import ChatRow
from ameide_runtime.identity import Identity

pytestmark = pytest.mark.unit

T = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
OWNER, PEER, STRANGER = Identity("owner", "t1"), Identity("peer", "t1"), Identity("owner", "t2")


def _chat(visibility: int, *, deleted: bool = False) -> ChatRow:
    return ChatRow(uuid.uuid4(), "t1", "owner", "x", visibility, "", {}, [], "", 0, T, T, T, deleted, 1)


@pytest.mark.parametrize(
    ("caller", "visibility", "readable", "listed"),
    [
        (OWNER, PRIVATE, True, True),
        (OWNER, TEAM, True, True),
        (OWNER, PUBLIC, True, True),
        (PEER, PRIVATE, False, False),
        (PEER, TEAM, True, True),
        (PEER, PUBLIC, True, True),
        (STRANGER, PRIVATE, False, False),
        (STRANGER, TEAM, False, False),
        (STRANGER, PUBLIC, True, False),
    ],
)
def test_chat_rules(caller: Identity, visibility: int, readable: bool, listed: bool) -> None:
    """PRIVATE: owner; TEAM: the tenant; PUBLIC: anyone by id, listed only in its own tenant."""
    chat = _chat(visibility)
    assert (can_read_chat(chat, caller), can_list_chat(chat, caller)) == (readable, listed)


@pytest.mark.parametrize("caller", [OWNER, PEER, STRANGER])
def test_deleted_chats_are_gone(caller: Identity) -> None:
    """A deleted chat is readable by nobody."""
    assert not can_read_chat(_chat(PUBLIC, deleted=True), caller)


def test_artifacts_belong_to_their_tenant() -> None:
    """Every user of the tenant reads an artifact; other tenants and deleted artifacts are not readable."""
    artifact = ArtifactRow(uuid.uuid4(), "t1", "owner", "a", "bpmn", {}, 1, "", None, None, T, T, deleted=False)
    assert can_read_artifact(artifact, PEER)
    assert not can_read_artifact(artifact, STRANGER)
    deleted = ArtifactRow(uuid.uuid4(), "t1", "owner", "a", "bpmn", {}, 1, "", None, None, T, T, deleted=True)
    assert not can_read_artifact(deleted, OWNER)


@pytest.mark.parametrize(
    ("query", "prefix"),
    [
        ("plan", True),
        ("road plan", True),
        ('"road plan"', False),
        ("plan -draft", False),
        ("plan or", False),
        ("", False),
        ("plan!", False),
    ],
)
def test_prefix_matching_applies_to_a_plain_last_word(query: str, prefix: bool) -> None:
    """Search-as-you-type: only a trailing plain word is matched as a prefix."""
    assert wants_prefix(query) is prefix
