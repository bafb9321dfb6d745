"""Raw HTTP/2 bytes, built by hand (no h2 dependency): frames, a minimal HPACK literal encoder, hostile sequences.

Only literal header fields without indexing and without Huffman coding are produced (RFC 7541 section 6.2.2),
which every decoder must accept; that is enough to send a well-formed gRPC request with a wrong content type, and
to send deliberately broken ones.
"""

from __future__ import annotations

import random
import struct

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS = 0x1, 0x4


def frame(kind: int, flags: int, stream: int, payload: bytes, *, length: int | None = None) -> bytes:
    """One frame; ``length`` may lie about the payload size."""
    size = len(payload) if length is None else length
    return struct.pack(">I", size)[1:] + bytes([kind, flags]) + struct.pack(">I", stream & 0x7FFFFFFF) + payload


def _integer(value: int, prefix_bits: int, first: int = 0) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return _integer(len(raw), 7) + raw


def hpack(headers: list[tuple[str, str]]) -> bytes:
    """A header block of literal fields (new names, not indexed, not Huffman coded)."""
    return b"".join(b"\x00" + _string(name) + _string(value) for name, value in headers)


def grpc_headers(path: str, authority: str, content_type: str = "application/grpc") -> list[tuple[str, str]]:
    """The request headers of a gRPC call."""
    return [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", authority),
        ("content-type", content_type),
        ("te", "trailers"),
    ]


def grpc_message(payload: bytes, *, declared: int | None = None) -> bytes:
    """GRPC length-prefixed framing (uncompressed)."""
    return b"\x00" + struct.pack(">I", len(payload) if declared is None else declared) + payload


def opening(extra: bytes = b"") -> bytes:
    """Client preface and an empty SETTINGS frame."""
    return PREFACE + frame(SETTINGS, 0, 0, b"") + extra


def call(path: str, authority: str, body: bytes, *, content_type: str = "application/grpc", stream: int = 1) -> bytes:
    """A complete unary request on ``stream``."""
    block = hpack(grpc_headers(path, authority, content_type))
    return frame(HEADERS, END_HEADERS, stream, block) + frame(DATA, END_STREAM, stream, grpc_message(body))


def hostile(path: str, authority: str, seed: int) -> dict[str, bytes]:
    """Byte sequences a server must survive, by name."""
    rng = random.Random(seed)  # noqa: S311 - reproducible garbage, not cryptography
    garbage = bytes(rng.randrange(256) for _ in range(4096))
    rapid_reset = b"".join(
        frame(HEADERS, END_HEADERS, n, hpack(grpc_headers(path, authority)))
        + frame(RST_STREAM, 0, n, b"\x00\x00\x00\x08")
        for n in range(1, 400, 2)
    )
    return {
        "random bytes": garbage,
        "HTTP/1.1 request": f"GET / HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode(),
        "HTTP/1.1 POST to a gRPC path": (
            f"POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 5\r\n\r\nhello".encode()
        ),
        "TLS ClientHello on plaintext": bytes.fromhex("16030100a5010000a10303") + garbage[:160],
        "preface then garbage": PREFACE + garbage,
        "frame larger than allowed": opening(frame(HEADERS, END_HEADERS, 1, b"", length=(1 << 24) - 1)),
        "headers on stream 0": opening(frame(HEADERS, END_HEADERS, 0, hpack(grpc_headers(path, authority)))),
        "broken HPACK": opening(frame(HEADERS, END_HEADERS, 1, b"\xff\xff\xff\xff\x0f" + garbage[:64])),
        "json content type": opening(call(path, authority, b"{}", content_type="application/json")),
        "no content type": opening(call(path, authority, b"", content_type="")),
        "message length lies (1 GiB)": opening(
            frame(HEADERS, END_HEADERS, 1, hpack(grpc_headers(path, authority)))
            + frame(DATA, END_STREAM, 1, grpc_message(b"abc", declared=1 << 30))
        ),
        "compressed flag without encoding": opening(
            frame(HEADERS, END_HEADERS, 1, hpack(grpc_headers(path, authority)))
            + frame(DATA, END_STREAM, 1, b"\x01" + struct.pack(">I", 3) + b"abc")
        ),
        "continuation without headers": opening(frame(CONTINUATION, END_HEADERS, 1, b"\x00")),
        "window update of zero": opening(frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x00\x00")),
        "ping flood": opening(b"".join(frame(PING, 0, 0, struct.pack(">Q", n)) for n in range(2000))),
        "settings flood": opening(b"".join(frame(SETTINGS, 0, 0, b"\x00\x03\x00\x00\x00\x01") for _ in range(2000))),
        "rapid reset (200 streams)": opening(rapid_reset),
        "huge header list": opening(
            frame(HEADERS, END_HEADERS, 1, hpack([*grpc_headers(path, authority), ("x-big", "v" * 15000)]))
        ),
        "goaway then a request": opening(
            frame(GOAWAY, 0, 0, b"\x00\x00\x00\x00\x00\x00\x00\x00") + call(path, authority, b"")
        ),
    }
