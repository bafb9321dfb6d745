"""Run ``ameide_runtime.grpc_server.serve`` inside the test's event loop on an ephemeral port."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ameide_runtime.grpc_server import ServiceBinding, ShutdownCallback, serve
from ameide_runtime.settings import AuthSettings, ServerSettings


@dataclasses.dataclass
class Running:
    """A server started by ``serving``: its port, and the event that stops it."""

    port: int
    stop: asyncio.Event
    task: asyncio.Task[None]

    @property
    def target(self) -> str:
        """Address for ``grpc.aio.insecure_channel``."""
        return f"127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def serving(
    auth: AuthSettings,
    bindings: Sequence[ServiceBinding],
    *,
    server: ServerSettings | None = None,
    on_shutdown: Sequence[ShutdownCallback] = (),
) -> AsyncIterator[Running]:
    """Serve ``bindings`` on 127.0.0.1:<ephemeral> until the block ends (then shut down gracefully)."""
    settings = dataclasses.replace(server or ServerSettings(), bind_host="127.0.0.1")
    stop = asyncio.Event()
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(
            settings,
            auth,
            bindings,
            port=0,
            metrics_port=None,
            on_shutdown=on_shutdown,
            ready=bound.set_result,
            stop=stop,
        )
    )
    started: list[asyncio.Future[Any]] = [task, bound]
    await asyncio.wait(started, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raises the start-up error
    running = Running(port=bound.result(), stop=stop, task=task)
    try:
        yield running
    finally:
        stop.set()
        await task
