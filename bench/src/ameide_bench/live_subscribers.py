"""The live-signal benchmark's subscribers, in a process of their own (so their CPU is not the servers').

``python -m ameide_bench.live_subscribers TARGET --chats-file FILE --per-chat N`` opens N StreamChatUpdates with
``include_signals`` per chat (users ``sub-<i>`` of the bench tenant), prints ``READY`` once every stream has its
presence snapshot, then on ``EXPECT n`` waits (bounded) until ``n`` marked signals arrived and prints one JSON
object: ``arrivals`` ([mark, arrival time] pairs) and ``cpu_seconds`` (the process's CPU since READY). A mark is a
presence change's display name or a draft delta's text: the load sets both to a unique string, and records when it
sent each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc

TENANT = "bench-tenant"
CHANNELS = 4
EXPECT_SECONDS = 30.0


def mark_of(update: threads_service_pb2.ChatUpdate) -> str | None:
    """The mark a signal carries (None for anything else)."""
    case = update.WhichOneof("update")
    if case == "presence_changed":
        return update.presence_changed.participant.display_name
    if case == "draft_delta":
        return update.draft_delta.text
    return None


async def follow(stub: threads_service_pb2_grpc.ChatQueryServiceStub, chat_id: str, user: str,
                 ready: asyncio.Event, arrivals: list[tuple[str, float]]) -> None:  # fmt: skip
    """Read one stream, noting when each marked signal arrives."""
    request = threads_service_pb2.StreamChatRequest(threads_id=chat_id, include_signals=True)
    call: Any = stub.StreamChatUpdates(request, metadata=(("x-user-id", user), ("x-tenant-id", TENANT)))
    with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
        async for update in call:
            mark = mark_of(update)
            if mark:
                arrivals.append((mark, time.time()))
            elif update.WhichOneof("update") == "presence_snapshot":
                ready.set()


async def main(target: str, chats: Sequence[str], per_chat: int) -> None:
    """Follow, say READY, report the arrivals once asked."""
    channels = [grpc.aio.insecure_channel(target) for _ in range(CHANNELS)]
    arrivals: list[tuple[str, float]] = []
    events = [asyncio.Event() for _ in range(len(chats) * per_chat)]
    stubs = [threads_service_pb2_grpc.ChatQueryServiceStub(channel) for channel in channels]
    tasks = [
        asyncio.create_task(follow(stubs[i % CHANNELS], chats[i % len(chats)], f"sub-{i}", event, arrivals))
        for i, event in enumerate(events)
    ]
    await asyncio.gather(*(event.wait() for event in events))
    ready_cpu = time.process_time()
    print("READY", flush=True)
    line = await asyncio.to_thread(sys.stdin.readline)
    expected = int(line.split()[1]) if line.startswith("EXPECT") else 0
    deadline = time.monotonic() + EXPECT_SECONDS
    while len(arrivals) < expected and time.monotonic() < deadline:  # noqa: ASYNC110 - other tasks' state, bounded
        await asyncio.sleep(0.02)
    print(json.dumps({"arrivals": arrivals, "cpu_seconds": time.process_time() - ready_cpu}), flush=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for channel in channels:
        await channel.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("target")
    parser.add_argument("--chats-file", required=True)
    parser.add_argument("--per-chat", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.target, json.loads(Path(args.chats_file).read_text()), args.per_chat))
