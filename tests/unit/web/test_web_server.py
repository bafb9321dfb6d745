"""The web deployable's HTTP server on a real socket: keep-alive, HEAD, bad requests, graceful shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ameide_web.bundle import Bundle
from ameide_web.routes import WebApp
from ameide_web.server import WebServer
from ameide_web.wire import MAX_HEAD_BYTES

pytestmark = pytest.mark.unit


@pytest.fixture(name="server")
async def fixture_server(tmp_path: Path) -> AsyncIterator[WebServer]:
    """A started server on a free port with a one-page bundle."""
    (tmp_path / "index.html").write_text("<!doctype html><p>app</p>")
    server = WebServer(WebApp(Bundle.load(tmp_path)), "127.0.0.1", 0)
    await server.start()
    yield server
    await server.shutdown(1)


async def exchange(server: WebServer, raw: bytes) -> bytes:
    """Send raw bytes, return everything the server answers until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(raw)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One response's head and body (by its Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1]
    )
    return head, await reader.readexactly(length)


async def test_keep_alive_serves_several_requests_on_one_connection(server: WebServer) -> None:
    """HTTP/1.1 keeps the connection; HEAD gets the GET's length and no body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /threads/1 HTTP/1.1\r\nHost: x\r\n\r\n")
    head, body = await read_response(reader)
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Connection: keep-alive" in head
    assert body == b"<!doctype html><p>app</p>"
    writer.write(b"HEAD /artifact/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await writer.drain()
    rest = await reader.read()
    assert rest.startswith(b"HTTP/1.1 200 OK")
    assert f"Content-Length: {len(body)}".encode() in rest
    assert rest.endswith(b"\r\n\r\n")
    writer.close()


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"GET / HTTP/2.0\r\n\r\n", b"505"),
        (b"GET http://elsewhere/ HTTP/1.1\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nbad header\r\n\r\n", b"400"),
        (b"GET /%ff HTTP/1.1\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n", b"431"),
    ],
)
async def test_bad_requests_get_a_status_and_the_connection_closes(
    server: WebServer, raw: bytes, status: bytes
) -> None:
    """Malformed input is answered (never a crash) and the connection is closed."""
    answer = await exchange(server, raw)
    assert answer.split(b" ")[1] == status
    assert b"Connection: close" in answer


async def test_a_request_with_a_body_is_answered_then_closed(server: WebServer) -> None:
    """Bodies are never read here, so the connection cannot be reused after one."""
    answer = await exchange(server, b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
    assert answer.startswith(b"HTTP/1.1 405")
    assert b"Connection: close" in answer


async def test_shutdown_closes_idle_connections_and_finishes(server: WebServer) -> None:
    """An idle keep-alive connection is closed at once; health answers 503 while draining."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await read_response(reader)
    await server.shutdown(5)
    assert await reader.read() == b""
    assert server.app.draining
    writer.close()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", server.port)
