"""Opaque signed tokens, consistency tokens and resume tokens."""

from __future__ import annotations

import uuid

import pytest

from ameide_readmodel.feed.names import artifact_feed, chat_feed
from ameide_runtime import consistency, resume
from ameide_runtime.errors import FailedPrecondition, InvalidArgument
from ameide_runtime.tokens import InvalidToken, TokenCodec

pytestmark = pytest.mark.unit

CODEC = TokenCodec(b"k" * 32)
OTHER = TokenCodec(b"o" * 32)
FEED = chat_feed("c1")


class TestTokenCodec:
    def test_round_trip(self) -> None:
        """A payload comes back unchanged from its token."""
        assert CODEC.decode("page", CODEC.encode("page", {"a": 1, "b": "x"})) == {"a": 1, "b": "x"}

    def test_kind_is_bound(self) -> None:
        """A page token is not accepted as a resume token."""
        with pytest.raises(InvalidToken):
            CODEC.decode("resume", CODEC.encode("page", {"a": 1}))

    def test_foreign_key_is_rejected(self) -> None:
        """A token signed with another secret is rejected."""
        with pytest.raises(InvalidToken):
            CODEC.decode("page", OTHER.encode("page", {"a": 1}))

    @pytest.mark.parametrize("token", ["", "abc", "abc.", ".abc", "!!!.???", "e30.AAAA"])
    def test_garbage_is_rejected(self, token: str) -> None:
        """Malformed tokens raise InvalidToken, never another error."""
        with pytest.raises(InvalidToken):
            CODEC.decode("page", token)

    def test_tampered_payload_is_rejected(self) -> None:
        """Changing one character of the payload breaks the signature."""
        token = CODEC.encode("page", {"a": 1})
        body, _, mac = token.partition(".")
        tampered = ("B" if body[0] != "B" else "C") + body[1:] + "." + mac
        with pytest.raises(InvalidToken):
            CODEC.decode("page", tampered)

    def test_short_secret_is_refused(self) -> None:
        """Secrets under 16 bytes are refused."""
        with pytest.raises(ValueError, match="16 bytes"):
            TokenCodec(b"short")


class TestConsistency:
    def test_round_trip(self) -> None:
        """Stream versions survive encoding."""
        versions = {uuid.uuid4(): 3, uuid.uuid4(): 1}
        assert consistency.decode(CODEC, consistency.encode(CODEC, versions)) == versions

    def test_malformed_streams_are_invalid(self) -> None:
        """A validly signed token with a bad body is still InvalidToken."""
        with pytest.raises(InvalidToken):
            consistency.decode(CODEC, CODEC.encode(consistency.KIND, {"s": {"not-a-uuid": 1}}))


class TestResume:
    def test_round_trip(self) -> None:
        """A token parses back into its point."""
        token = resume.issue(CODEC, tenant_id="t1", feed=FEED, seq=7, now=1000.0)
        point = resume.parse(CODEC, token, tenant_id="t1", feed=FEED, ttl_seconds=60, now=1010.0)
        assert (point.seq, point.valid_until(60)) == (7, 1060.0)

    def test_expired_is_failed_precondition(self) -> None:
        """A token older than the TTL is FAILED_PRECONDITION with reason RESUME_TOKEN_EXPIRED."""
        token = resume.issue(CODEC, tenant_id="t1", feed=FEED, seq=7, now=1000.0)
        with pytest.raises(FailedPrecondition) as caught:
            resume.parse(CODEC, token, tenant_id="t1", feed=FEED, ttl_seconds=60, now=2000.0)
        assert caught.value.reason == "RESUME_TOKEN_EXPIRED"

    @pytest.mark.parametrize(("tenant", "feed"), [("t2", FEED), ("t1", artifact_feed("c1"))])
    def test_other_tenant_or_feed_is_invalid_argument(self, tenant: str, feed: str) -> None:
        """A token of another tenant or feed is INVALID_ARGUMENT naming the field."""
        token = resume.issue(CODEC, tenant_id="t1", feed=FEED, seq=1, now=1000.0)
        with pytest.raises(InvalidArgument) as caught:
            resume.parse(CODEC, token, tenant_id=tenant, feed=feed, ttl_seconds=60, now=1000.0)
        assert [v.field for v in caught.value.violations] == ["resume_token"]

    def test_forged_is_invalid_argument(self) -> None:
        """A forged token is INVALID_ARGUMENT."""
        token = resume.issue(OTHER, tenant_id="t1", feed=FEED, seq=1, now=1000.0)
        with pytest.raises(InvalidArgument):
            resume.parse(CODEC, token, tenant_id="t1", feed=FEED, ttl_seconds=60, now=1000.0)
