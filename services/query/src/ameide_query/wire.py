"""Protobuf wire format, for replies assembled from messages stored already encoded.

On the wire a message is its fields in any order, and a repeated message field is each element as a
length-delimited record of that field number. So a reply whose other fields were encoded by protobuf, followed by
the stored elements framed here, decodes exactly as the message built field by field, without decoding the stored
elements and encoding them again.
"""

from __future__ import annotations

from collections.abc import Sequence

_LENGTH_DELIMITED = 2
_ONE_BYTE = 1 << 7
_TWO_BYTES = 1 << 14


def varint(value: int) -> bytes:
    """``value`` (>= 0) as a protobuf base-128 varint."""
    out = bytearray()
    while value > 0x7F:  # noqa: PLR2004 - seven bits per byte
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def repeated(field_number: int, encoded: Sequence[bytes]) -> bytes:
    """The records of a repeated message field holding the already encoded ``encoded`` elements, in order."""
    tag = varint(field_number << 3 | _LENGTH_DELIMITED)
    parts: list[bytes] = []
    add = parts.append
    for element in encoded:
        size = len(element)
        # Stored messages are mostly under 16 KiB: their length is one or two varint bytes, framed inline.
        if size < _ONE_BYTE:
            add(tag + bytes((size,)))
        elif size < _TWO_BYTES:
            add(tag + bytes((size & 0x7F | 0x80, size >> 7)))
        else:
            add(tag + varint(size))
        add(element)
    return b"".join(parts)
