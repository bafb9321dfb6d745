"""How big a draft may grow, and how its text becomes one message's text parts.

A completed draft is one ChatMessageInput (role "assistant", text parts, maybe an artifact id) that the command
side checks against its limits: each text part at most ``max_text_part_bytes``, at most ``max_parts`` parts, the
whole message at most ``max_message_bytes`` serialized. The text is cut at character boundaries, so a part holds
at least ``max_text_part_bytes - 3`` bytes; ``max_draft_bytes`` is the largest text that fits however it is cut.
"""

from __future__ import annotations

from dataclasses import dataclass

# Serialized framing: role "assistant" (tag, length, 9 bytes), an artifact id (tag, length, 36), and per part three
# tags with three length varints of at most 3 bytes each (parts are below 2 MiB).
_FIXED_OVERHEAD = 11 + 38
_PART_OVERHEAD = 3 + 3 * 3
_UTF8_MAX_CHAR = 4
# UTF-8 continuation bytes are 0b10xxxxxx: a cut before one would split a character.
_CONTINUATION_MASK, _CONTINUATION = 0xC0, 0x80


@dataclass(frozen=True, slots=True)
class MessageLimits:
    """The command service's message limits (the same AMEIDE_* variables)."""

    max_parts: int
    max_text_part_bytes: int
    max_message_bytes: int

    def max_draft_bytes(self) -> int:
        """The longest draft text (UTF-8 bytes) that always fits one message."""
        low, high = 0, self.max_message_bytes
        while low < high:
            mid = (low + high + 1) // 2
            if self._fits(mid):
                low = mid
            else:
                high = mid - 1
        return low

    def _fits(self, size: int) -> bool:
        per_part = max(1, self.max_text_part_bytes - (_UTF8_MAX_CHAR - 1))
        parts = -(-size // per_part)
        return parts <= self.max_parts and size + parts * _PART_OVERHEAD + _FIXED_OVERHEAD <= self.max_message_bytes


def text_parts(text: str, max_part_bytes: int) -> list[str]:
    """``text`` cut into pieces of at most ``max_part_bytes`` UTF-8 bytes, never inside a character."""
    data = text.encode()
    max_part_bytes = max(max_part_bytes, _UTF8_MAX_CHAR)  # room for any one character
    pieces: list[str] = []
    start = 0
    while start < len(data):
        end = min(len(data), start + max_part_bytes)
        while end < len(data) and data[end] & _CONTINUATION_MASK == _CONTINUATION:
            end -= 1
        pieces.append(data[start:end].decode())
        start = end
    return pieces
