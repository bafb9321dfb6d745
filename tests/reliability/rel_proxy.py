"""A fault-injecting TCP proxy on 127.0.0.1, in its own thread and event loop.

Network namespaces work on these machines but the kernel has no ``sch_netem`` (``tc qdisc ... netem`` answers
"Specified qdisc kind is unknown") and there is no iptables/nft, so latency, partitions and resets are injected here
instead, between a service and PostgreSQL or Redis:

- ``delay(seconds)``: every chunk waits that long before it is forwarded (order kept), in both directions;
- ``partition()``: nothing flows and new connections hang, as when packets are dropped; ``heal()`` lets the held
  bytes through (TCP would retransmit them);
- ``reset()``: every open connection is aborted (RST), as when a middlebox or the peer's host restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

CHUNK = 65536


class FaultProxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``upstream_port``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.connections = 0
        self._delay = 0.0
        self._loop = asyncio.new_event_loop()
        self._open: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)

    def start(self) -> None:
        """Listen on a free port (``self.port``)."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        assert self._open is not None
        self.connections += 1
        self._writers.add(client_writer)
        try:
            await self._open.wait()
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            self._abort(client_writer)
            return
        self._writers.add(upstream_writer)
        await asyncio.gather(
            self._pump(client_reader, upstream_writer, client_writer),
            self._pump(upstream_reader, client_writer, upstream_writer),
        )

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, other: asyncio.StreamWriter
    ) -> None:
        assert self._open is not None
        try:
            while data := await reader.read(CHUNK):
                if self._delay:
                    await asyncio.sleep(self._delay)
                await self._open.wait()
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._abort(writer)
            self._abort(other)

    def _abort(self, writer: asyncio.StreamWriter) -> None:
        self._writers.discard(writer)
        transport = writer.transport
        if not transport.is_closing():
            transport.abort()

    def _call(self, action: str) -> None:
        def run() -> None:
            assert self._open is not None
            if action == "partition":
                self._open.clear()
            elif action == "heal":
                self._open.set()
            else:
                for writer in list(self._writers):
                    self._abort(writer)

        self._loop.call_soon_threadsafe(run)

    def delay(self, seconds: float) -> None:
        """Delay every chunk by ``seconds`` (0 = none)."""
        self._delay = seconds

    def partition(self) -> None:
        """Stop all traffic (connections stay open, new ones hang)."""
        self._call("partition")

    def heal(self) -> None:
        """Let traffic flow again."""
        self._call("heal")

    def reset(self) -> None:
        """Abort every open connection."""
        self._call("reset")

    def close(self) -> None:
        """Stop listening, abort everything, stop the thread."""

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                self._abort(writer)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


@contextlib.contextmanager
def fault_proxy(upstream_port: int) -> Iterator[FaultProxy]:
    """A started proxy to ``upstream_port``, closed afterwards."""
    proxy = FaultProxy(upstream_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
