"""An independent client in its own process, timing GetMessages of one chat; one latency (ms) per stdout line.

The soak's own load (writers, thousands of subscribers) shares the test process's event loop and gRPC channels,
so a probe inside it would measure the harness as much as the service. This one measures what another client
sees. Run as ``python -m tests.reliability.rel_probe_proc TARGET CHAT_ID BEARER PAUSE``; it stops when its
stdin closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from pathlib import Path

import grpc

from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc as chat_grpc

# Where ``python -m tests.reliability...`` resolves.
REPOSITORY = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    """Probe until stdin closes."""
    target, chat_id, bearer, pause = argv[0], argv[1], argv[2], float(argv[3])
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    request = chat.GetMessagesRequest(threads_id=chat_id, page_size=50)
    metadata = (("authorization", f"Bearer {bearer}"),)
    with grpc.insecure_channel(target) as channel:
        stub = chat_grpc.ChatQueryServiceStub(channel)
        while not stop.is_set():
            started = time.perf_counter()
            with contextlib.suppress(grpc.RpcError):
                stub.GetMessages(request, metadata=metadata, timeout=30)
            sys.stdout.write(f"{(time.perf_counter() - started) * 1000:.3f}\n")
            sys.stdout.flush()
            stop.wait(pause)
    return 0


class ProcessProbe:
    """Runs the probe process and collects its latencies."""

    def __init__(self, target: str, chat_id: str, bearer: str, *, pause: float = 0.05) -> None:
        self._argv = [target, chat_id, bearer, str(pause)]
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self.samples: list[float] = []

    async def start(self) -> None:
        """Start the process and the collector."""
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.reliability.rel_probe_proc",
            *self._argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=REPOSITORY,
        )
        self._reader = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            with contextlib.suppress(ValueError):
                self.samples.append(float(line))

    async def stop(self) -> None:
        """Close its stdin, wait for it (bounded), stop collecting."""
        if self._proc is None:
            return
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            async with asyncio.timeout(30):
                await self._proc.wait()
        except TimeoutError:
            self._proc.kill()
            await self._proc.wait()
        if self._reader is not None:
            await self._reader


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
