"""``ameide serve web``: an asyncio HTTP/1.1 server for the bundle, with graceful shutdown.

On SIGTERM/SIGINT the health endpoint turns 503 and the listener closes; idle keep-alive connections are closed
at once, requests in progress finish (their connections close after the answer), all within
``AMEIDE_SHUTDOWN_GRACE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from ameide_web.bundle import Bundle, shipped_directory
from ameide_web.config import WebSettings
from ameide_web.dev_tokens import DevTokens
from ameide_web.routes import WebApp
from ameide_web.wire import MAX_HEAD_BYTES, Response, WireError, encode, read_request

logger = logging.getLogger(__name__)

KEEP_ALIVE_SECONDS = 60.0  # longer than the gateway's idle timeout towards us, so it is always Envoy that closes


class WebServer:
    """Serves one ``WebApp`` on ``host:port`` (port 0 = any free port, see ``port`` once started)."""

    def __init__(self, app: WebApp, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._idle: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(self._connection, self.host, self.port, limit=MAX_HEAD_BYTES)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def shutdown(self, grace_seconds: float) -> None:
        """Stop listening, close idle connections, let requests in progress finish (bounded by the grace)."""
        self.app.draining = True
        if self._server is not None:
            self._server.close()
        for writer in list(self._idle.values()):
            writer.close()
        if self._connections:
            _, late = await asyncio.wait(set(self._connections), timeout=grace_seconds)
            # Aborting (not cancelling) lets each connection task end normally on the reset it now reads.
            for task in late:
                self._connections[task].transport.abort()
            if late:
                await asyncio.wait(late)
        if self._server is not None:
            await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - the stream server always runs this inside a task
        self._connections[task] = writer
        try:
            await self._serve(task, reader, writer)
        except (ConnectionError, TimeoutError):
            pass
        finally:
            self._idle.pop(task, None)
            # close() flushes and closes on its own; nothing here waits on the peer.
            writer.close()
            del self._connections[task]

    async def _serve(
        self, task: asyncio.Task[None], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while not self.app.draining:
            self._idle[task] = writer
            try:
                request = await asyncio.wait_for(read_request(reader), KEEP_ALIVE_SECONDS)
            except WireError as exc:
                answer = Response(exc.status, (("Content-Type", "text/plain"),), f"{exc}\n".encode())
                writer.write(encode(answer, head_only=False, keep_alive=False))
                await writer.drain()
                return
            finally:
                self._idle.pop(task, None)
            if request is None:
                return
            response = self.app.respond(request)
            keep_alive = request.keep_alive and not request.has_body and not self.app.draining
            writer.write(encode(response, head_only=request.method == "HEAD", keep_alive=keep_alive))
            await writer.drain()
            logger.debug("%s %s -> %d", request.method, request.path, response.status.value)
            if not keep_alive:
                return


def load_app(settings: WebSettings) -> WebApp:
    """The app for these settings: the configured (or shipped) bundle, development tokens when turned on."""
    directory = Path(settings.web_static_dir) if settings.web_static_dir else shipped_directory()
    return WebApp(Bundle.load(directory), DevTokens.from_settings(settings))


async def serve(settings: WebSettings, app: WebApp | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then shut down gracefully."""
    app = app or load_app(settings)
    server = WebServer(app, settings.server.bind_host, settings.web_port)
    await server.start()
    logger.info(
        "web serving %d files from %s on %s:%d%s",
        len(app.bundle.files),
        app.bundle.directory,
        server.host,
        server.port,
        "; development tokens at /dev/token" if app.dev_tokens is not None else "",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logger.info("web shutting down (grace %.0fs)", settings.server.shutdown_grace_seconds)
    await server.shutdown(settings.server.shutdown_grace_seconds)
    logger.info("web stopped")
