"""A minimal gRPC-Web client (binary protobuf over HTTP/1.1), for tests of the gateway: what a browser sends.

A request body is one length-prefixed message frame; a response body is message frames (flag 0x00) followed
by one trailer frame (flag 0x80) holding ``name: value`` lines, among them ``grpc-status``.
"""

from __future__ import annotations

import http.client
import struct
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

from google.protobuf.message import Message

CONTENT_TYPE = "application/grpc-web+proto"
TRAILER_FLAG = 0x80
M = TypeVar("M", bound=Message)


@dataclass
class GrpcWebReply:
    """One finished call: HTTP status and headers, the message frames, and the trailers."""

    http_status: int
    headers: dict[str, str]
    messages: list[bytes] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)

    @property
    def grpc_status(self) -> int:
        """The call's gRPC status (a trailers-only answer carries it in the headers)."""
        return int(self.trailers.get("grpc-status", self.headers.get("grpc-status", "-1")))

    @property
    def grpc_message(self) -> str:
        """The status message, if any."""
        return self.trailers.get("grpc-message", self.headers.get("grpc-message", ""))

    def decode(self, message_type: type[M]) -> list[M]:
        """The message frames as ``message_type``."""
        return [message_type.FromString(body) for body in self.messages]


def frame(message: Message) -> bytes:
    """One uncompressed message frame."""
    body = message.SerializeToString()
    return struct.pack(">BI", 0, len(body)) + body


def parse_frames(body: bytes) -> tuple[list[bytes], dict[str, str]]:
    """Split a response body into message frames and the trailers."""
    messages: list[bytes] = []
    trailers: dict[str, str] = {}
    offset = 0
    while offset + 5 <= len(body):
        flag, length = struct.unpack_from(">BI", body, offset)
        payload = body[offset + 5 : offset + 5 + length]
        offset += 5 + length
        if flag & TRAILER_FLAG:
            for line in payload.decode("latin-1").split("\r\n"):
                name, colon, value = line.partition(":")
                if colon:
                    trailers[name.strip().lower()] = value.strip()
        else:
            messages.append(payload)
    return messages, trailers


def call(
    base_url: str,
    method: str,
    request: Message,
    *,
    token: str = "",
    headers: dict[str, str] | None = None,
    timeout: float = 15.0,
) -> GrpcWebReply:
    """Call ``/<package.Service>/<Method>`` through a gRPC-Web endpoint and read the whole answer."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=timeout)
    sent = {"content-type": CONTENT_TYPE, "x-grpc-web": "1", "accept": CONTENT_TYPE, **(headers or {})}
    if token:
        sent["authorization"] = f"Bearer {token}"
    try:
        connection.request("POST", method, body=frame(request), headers=sent)
        response = connection.getresponse()
        body = response.read()
        reply_headers = {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()
    messages, trailers = parse_frames(body)
    return GrpcWebReply(response.status, reply_headers, messages, trailers)
