"""A draft never outgrows one message: its text, cut into parts, fits every limit the command side checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_query.live.limits import MessageLimits, text_parts

pytestmark = pytest.mark.unit

DEFAULTS = MessageLimits(max_parts=64, max_text_part_bytes=64 * 1024, max_message_bytes=1024 * 1024)
SMALL = MessageLimits(max_parts=8, max_text_part_bytes=16, max_message_bytes=256)


def message(text: str, limits: MessageLimits) -> types.ChatMessageInput:
    """The assistant message a completion sends (with an artifact id, the longest case)."""
    parts = [types.MessagePart(text=types.TextPart(text=p)) for p in text_parts(text, limits.max_text_part_bytes)]
    return types.ChatMessageInput(role="assistant", parts=parts, artifact_id="6a3b1f0e-2f1d-4a8e-9c7b-0d9e5f2a7c41")


def fits(text: str, limits: MessageLimits) -> bool:
    """Whether the command side would accept the message."""
    built = message(text, limits)
    return (
        len(built.parts) <= limits.max_parts
        and all(len(p.text.text.encode()) <= limits.max_text_part_bytes for p in built.parts)
        and built.ByteSize() <= limits.max_message_bytes
    )


def test_a_one_mebibyte_message_holds_a_draft_just_under_a_mebibyte() -> None:
    """With the defaults a draft may reach 1 MiB less the parts' framing, and that draft fits, in ASCII or not."""
    biggest = DEFAULTS.max_draft_bytes()
    assert 1024 * 1024 - 256 < biggest < 1024 * 1024
    assert fits("a" * biggest, DEFAULTS)
    assert fits(("é" * biggest)[: biggest // 2], DEFAULTS)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=400))
def test_parts_rejoin_to_the_text_and_respect_the_part_limit(text: str) -> None:
    """Cut only between characters, never above the limit; nothing lost."""
    pieces = text_parts(text, 16)
    assert "".join(pieces) == text
    assert all(0 < len(piece.encode()) <= 16 for piece in pieces)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1))
def test_any_draft_within_the_limit_fits_one_message(text: str) -> None:
    """Whatever its characters, a draft no longer than max_draft_bytes fits (small limits make the edges hit)."""
    data = text.encode()[: SMALL.max_draft_bytes()]
    trimmed = data.decode(errors="ignore")
    if trimmed:
        assert fits(trimmed, SMALL)


def test_the_part_count_can_be_what_binds() -> None:
    """With small parts and a generous message, the part count sets the limit."""
    limits = MessageLimits(max_parts=4, max_text_part_bytes=8, max_message_bytes=10_000)
    assert limits.max_draft_bytes() == 4 * (8 - 3)
