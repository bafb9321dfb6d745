"""Just enough HTTP/1.1 for serving files: read one request head, write one response (keep-alive aware).

Requests are GET/HEAD for small static files, so bodies are never read: a request announcing one is answered
and its connection closed. Anything malformed is a ``WireError`` carrying the status to answer with.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qs, unquote, urlsplit

MAX_HEAD_BYTES = 16 * 1024
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_VERSIONS = frozenset({"HTTP/1.0", "HTTP/1.1"})


class WireError(Exception):
    """The request cannot be served; ``status`` is the answer, after which the connection closes."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed request head."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    version: str
    headers: Mapping[str, str]

    @property
    def keep_alive(self) -> bool:
        """HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 only when asked to."""
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.1":
            return "close" not in connection
        return "keep-alive" in connection

    @property
    def has_body(self) -> bool:
        """True when the client announced a body (which is never read here)."""
        return "transfer-encoding" in self.headers or self.headers.get("content-length", "0").strip() != "0"


@dataclass(frozen=True, slots=True)
class Response:
    """Status, headers and body; ``Content-Length`` and ``Connection`` are added when written."""

    status: HTTPStatus
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on the connection, or ``None`` when the client closed it between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise WireError(HTTPStatus.BAD_REQUEST, "connection closed in the middle of a request head") from None
    except asyncio.LimitOverrunError:
        raise WireError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request head too large") from None
    return parse_head(head)


def parse_head(head: bytes) -> Request:
    """Parse a request line and header fields (``head`` ends with the blank line)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]):  # noqa: PLR2004 - method, target, version
        raise WireError(HTTPStatus.BAD_REQUEST, "malformed request line")
    method, target, version = parts
    if version not in _VERSIONS:
        raise WireError(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"unsupported version {version[:16]!r}")
    if not target.startswith("/"):
        raise WireError(HTTPStatus.BAD_REQUEST, "request target must be a path")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.match(name):
            raise WireError(HTTPStatus.BAD_REQUEST, "malformed header field")
        key = name.lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    split = urlsplit(target)
    try:
        path = unquote(split.path, errors="strict")
    except UnicodeDecodeError:
        raise WireError(HTTPStatus.BAD_REQUEST, "request path is not UTF-8") from None
    return Request(
        method=method,
        path=path,
        query=parse_qs(split.query, keep_blank_values=True),
        version=version,
        headers=headers,
    )


def encode(response: Response, *, head_only: bool, keep_alive: bool) -> bytes:
    """The response's bytes; a HEAD answer carries the headers of the GET answer and no body."""
    status = response.status
    lines = [f"HTTP/1.1 {status.value} {status.phrase}"]
    lines += [f"{name}: {value}" for name, value in response.headers]
    if status is not HTTPStatus.NOT_MODIFIED:  # a 304 may only repeat the 200's length, so it names none
        lines.append(f"Content-Length: {len(response.body)}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body
