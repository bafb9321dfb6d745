"""Redis stream entry ids as comparable values: ``b"1700000000000-3"`` -> ``(1700000000000, 3)``."""

from __future__ import annotations

StreamId = tuple[int, int]

ZERO: StreamId = (0, 0)


def parse(raw: bytes | str) -> StreamId:
    """The id of a stream entry (ValueError when it is not one)."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    millis, _, sequence = text.partition("-")
    return int(millis), int(sequence or 0)


def text(value: StreamId) -> str:
    """The id as Redis writes it."""
    return f"{value[0]}-{value[1]}"
