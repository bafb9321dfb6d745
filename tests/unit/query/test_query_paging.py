"""Page sizes and page tokens: clamping, binding to caller and query, tamper detection, keyset values."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from ameide_query import paging
from ameide_query.reads.common import keyset, position
from ameide_runtime.errors import InvalidArgument
from ameide_runtime.identity import Identity
from ameide_runtime.tokens import TokenCodec

pytestmark = pytest.mark.unit

CODEC = TokenCodec(b"unit-test-secret-0123456789abcdef")
ALICE = Identity(user_id="alice", tenant_id="t1")


class TestPageSize:
    @pytest.mark.parametrize(
        ("requested", "limits", "expected"),
        [
            (0, paging.CHATS, 20),
            (7, paging.CHATS, 7),
            (100, paging.CHATS, 100),
            (101, paging.CHATS, 100),
            (0, paging.MESSAGES, 50),
            (5000, paging.MESSAGES, 200),
        ],
    )
    def test_default_and_clamp(self, requested: int, limits: paging.PageLimits, expected: int) -> None:
        """0 is the default; above the maximum is clamped to it."""
        assert paging.page_size(requested, limits) == expected

    def test_negative_is_invalid(self) -> None:
        """A negative page size names the field."""
        with pytest.raises(InvalidArgument) as caught:
            paging.page_size(-1, paging.CHATS)
        assert [v.field for v in caught.value.violations] == ["page_size"]


class TestPageTokens:
    def test_round_trip(self) -> None:
        """A token returns the keyset position it was issued for; no token means the first page."""
        tokens = paging.PageTokens(CODEC, ALICE, paging.query_hash("ListChats", {"v": 0}))
        at, chat = dt.datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC), uuid.uuid4()
        token = tokens.issue(position(at, chat))
        assert keyset(tokens.position(token), dt.datetime, uuid.UUID) == (at, chat)
        assert tokens.position("") is None

    @pytest.mark.parametrize(
        "other",
        [
            paging.PageTokens(CODEC, ALICE, paging.query_hash("ListChats", {"v": 2})),
            paging.PageTokens(CODEC, Identity("bob", "t1"), paging.query_hash("ListChats", {"v": 0})),
            paging.PageTokens(CODEC, Identity("alice", "t2"), paging.query_hash("ListChats", {"v": 0})),
            paging.PageTokens(
                TokenCodec(b"another-secret-0123456789abcdef"), ALICE, paging.query_hash("ListChats", {"v": 0})
            ),
        ],
        ids=["other filter", "other user", "other tenant", "other key"],
    )
    def test_a_token_only_fits_its_query_and_caller(self, other: paging.PageTokens) -> None:
        """Reused with another filter, caller, tenant or signing key, a token is INVALID_ARGUMENT."""
        token = paging.PageTokens(CODEC, ALICE, paging.query_hash("ListChats", {"v": 0})).issue([1])
        with pytest.raises(InvalidArgument) as caught:
            other.position(token)
        assert caught.value.reason == "INVALID_PAGE_TOKEN"

    @pytest.mark.parametrize("garbage", ["x", "a.b", "....", "eyJrIjpbMV19.AAAA"])
    def test_garbage_and_tampered_tokens(self, garbage: str) -> None:
        """Malformed or tampered tokens are INVALID_ARGUMENT naming page_token."""
        tokens = paging.PageTokens(CODEC, ALICE, "h")
        good = tokens.issue([1])
        for token in (garbage, good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1]):
            with pytest.raises(InvalidArgument) as caught:
                tokens.position(token)
            assert [v.field for v in caught.value.violations] == ["page_token"]

    def test_keyset_shape_is_checked(self) -> None:
        """A signed token whose position does not have the expected shape is still rejected."""
        tokens = paging.PageTokens(CODEC, ALICE, "h")
        with pytest.raises(InvalidArgument):
            keyset(tokens.position(tokens.issue(["not-a-date", "x"])), dt.datetime, uuid.UUID)
        with pytest.raises(InvalidArgument):
            keyset(tokens.position(tokens.issue([1, 2])), int)
        with pytest.raises(InvalidArgument):
            keyset(tokens.position(tokens.issue([True])), int)

    def test_the_query_hash_is_stable_and_sensitive(self) -> None:
        """Equal bindings hash equally regardless of key order; any change changes the hash."""
        assert paging.query_hash("S", {"a": 1, "b": 2}) == paging.query_hash("S", {"b": 2, "a": 1})
        assert paging.query_hash("S", {"a": 1}) != paging.query_hash("S", {"a": 2})
        assert paging.query_hash("S", "x") != paging.query_hash("T", "x")
