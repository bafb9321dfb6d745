"""The least a gRPC read server on this stack can do, run beside the real one: the read benchmark's floor.

A bare grpc.aio server (child process) that, for each call, runs the read's own statements with their parameters on
one of 8 psycopg connections (autocommit, prepared after a few runs, as the read pool does) and answers with as many
bytes as the real RPC's reply: no authentication, validation, access checks, tokens or message encoding. Whatever
the real query service adds, this server does not pay; whatever it pays, every Python gRPC server reading
PostgreSQL pays. Its latency at c=8 on the same machine, in the same run, bounds what any such server reaches.
Given no read workloads, it serves the command bench's floor instead: each call one raw append transaction (BEGIN,
event, outbox row, COMMIT) on its own connection, as a write server must at least do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import pickle
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import psycopg

from ameide_bench.children import Child, child_server, fixed_call_ops, serve_until_stdin_closes
from ameide_bench.eventstore import Writer, raw_ops

METHOD = "/bench.Floor/Read"
APPEND_METHOD = "/bench.Floor/Append"
CONNECTIONS = 8

Op = Callable[[], Awaitable[None]]
# kind -> each call's statements: ((SQL, parameters), ...)
Workloads = dict[str, list[tuple[tuple[str, dict[str, Any]], ...]]]


async def _serve(libpq: str, workloads: Workloads) -> None:
    """Serve reads of ``workloads``; without any, the command bench's raw appends (RAW_DDL's tables must exist)."""
    async with contextlib.AsyncExitStack() as stack:
        pool: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        appenders: asyncio.Queue[Op] = asyncio.Queue()
        if workloads:
            for _ in range(CONNECTIONS):
                conn = await psycopg.AsyncConnection.connect(libpq, autocommit=True)
                pool.put_nowait(await stack.enter_async_context(conn))
        else:
            for op in await raw_ops(stack, libpq, [Writer([uuid.uuid4()]) for _ in range(CONNECTIONS)]):
                appenders.put_nowait(op)
        await _listen(pool, appenders, workloads)


async def _listen(
    pool: asyncio.Queue[psycopg.AsyncConnection[Any]], appenders: asyncio.Queue[Op], workloads: Workloads
) -> None:
    replies: dict[int, bytes] = {}

    async def append(request: bytes, _context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        op = await appenders.get()
        try:
            await op()
        finally:
            appenders.put_nowait(op)
        return replies.setdefault(int(request), bytes(int(request)))

    async def read(request: bytes, _context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        kind, index, size = request.decode().split(":")
        conn = await pool.get()
        try:
            for statement, params in workloads[kind][int(index)]:
                await (await conn.execute(statement, params)).fetchall()
        finally:
            pool.put_nowait(conn)
        return replies.setdefault(int(size), bytes(int(size)))

    handler = grpc.method_handlers_generic_handler(
        "bench.Floor",
        {"Read": grpc.unary_unary_rpc_method_handler(read), "Append": grpc.unary_unary_rpc_method_handler(append)},
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    await serve_until_stdin_closes(server)


@contextlib.asynccontextmanager
async def floor_server(libpq: str, workloads: Workloads) -> AsyncIterator[Child]:
    """The floor server, serving ``workloads`` from the database at ``libpq``."""
    with tempfile.TemporaryDirectory() as folder:
        path = workloads_file(Path(folder), workloads)
        async with child_server("ameide_bench.floor", "--database", libpq, "--workloads", str(path)) as child:
            yield child


def workloads_file(folder: Path, workloads: Workloads) -> Path:
    """``workloads`` written in (private) ``folder`` for the floor server's ``--workloads``."""
    path = folder / "workloads.pickle"
    path.write_bytes(pickle.dumps(workloads))
    return path


def floor_ops(channels: Sequence[grpc.aio.Channel], kind: str, calls: int, size: int, concurrency: int) -> list[Op]:
    """Workers cycling through the ``calls`` calls of ``kind`` as the real RPC's do, worker ``i`` on channel ``i``."""
    ops: list[Op] = []
    for offset in range(concurrency):
        call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channels[offset % len(channels)].unary_unary(METHOD)
        requests = itertools.cycle(f"{kind}:{index}:{size}".encode() for index in range(offset, calls, concurrency))

        async def op(call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = call, requests: Any = requests) -> None:  # noqa: ANN401
            await call(next(requests))

        ops.append(op)
    return ops


def append_ops(channels: Sequence[grpc.aio.Channel], size: int) -> list[Op]:
    """Workers (one per channel) each appending through the floor server, for ``size``-byte replies."""
    return fixed_call_ops(channels, APPEND_METHOD, str(size).encode())


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ameide_bench.floor --database LIBPQ --workloads FILE`` (started by ``floor_server``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", required=True)
    parser.add_argument("--workloads", required=True, type=Path)
    args = parser.parse_args(argv)
    # The parent wrote this file a moment ago in a private temporary folder: trusted input.
    workloads: Workloads = pickle.loads(args.workloads.read_bytes())  # noqa: S301
    asyncio.run(_serve(args.database, workloads))


if __name__ == "__main__":
    main()
