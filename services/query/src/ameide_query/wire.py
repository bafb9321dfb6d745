"""Protobuf wire format, for replies assembled from messages stored already encoded.

On the wire a message is its fields in any order, and a repeated message field is each element as a
length-delimited record of that field number. So a reply whose other fields were encoded by protobuf, followed by
the stored elements framed here, decodes exactly as the message built field by field, without decoding the stored
elements and encoding them again.
"""

from __future__ import annotations

from collections.abc import Sequence

_LENGTH_DELIMITED = 2


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
    heads = _heads(field_number)
    framed: list[bytes] = [b""] * (2 * len(encoded))
    framed[0::2] = [heads.get(size) or _head(heads, field_number, size) for size in map(len, encoded)]
    framed[1::2] = encoded
    return b"".join(framed)


# Per field number: the record head (tag and length) of each element size seen, below _CACHED_SIZES. A page's
# messages have a few hundred distinct sizes, so its heads are looked up, not encoded, element by element.
_HEADS: dict[int, dict[int, bytes]] = {}
_CACHED_SIZES = 1 << 14


def _heads(field_number: int) -> dict[int, bytes]:
    heads = _HEADS.get(field_number)
    if heads is None:
        heads = _HEADS[field_number] = {}
    return heads


def _head(heads: dict[int, bytes], field_number: int, size: int) -> bytes:
    head = varint(field_number << 3 | _LENGTH_DELIMITED) + varint(size)
    if size < _CACHED_SIZES:
        heads[size] = head
    return head
