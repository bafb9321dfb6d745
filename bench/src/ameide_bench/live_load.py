"""The live-signal benchmark's load: presence changes and draft deltas sent through the real query deployable.

Every change carries a unique mark (a presence announcement's display name, a delta's text) and the time it was
sent, so the subscribers' arrivals (``live_subscribers``) give one latency per change and subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

import grpc.aio

from ameide_core_proto.live.v1 import live_service_pb2 as live
from ameide_core_proto.live.v1 import live_service_pb2_grpc as live_grpc
from ameide_core_proto.live.v1 import live_types_pb2 as live_types

if TYPE_CHECKING:
    from ameide_core_proto.live.v1.live_service_pb2_grpc import DraftServiceAsyncStub

TENANT = "bench-tenant"
AGENT = (("x-user-id", "bench-agent"), ("x-tenant-id", TENANT))
_MARKS = itertools.count()


def new_mark(prefix: str) -> str:
    """A string no other change carries."""
    return f"{prefix}{next(_MARKS)}-{uuid.uuid4().hex[:6]}"


async def presence_changes(target: str, chats: Sequence[str], *, rate: float, seconds: float) -> dict[str, float]:
    """Alternate TYPING and VIEWING for one user per chat at ``rate`` changes/s overall; mark -> time sent."""
    sent: dict[str, float] = {}
    async with grpc.aio.insecure_channel(target) as channel:
        stub = live_grpc.PresenceServiceStub(channel)
        states = itertools.cycle([live_types.PRESENCE_STATE_TYPING, live_types.PRESENCE_STATE_VIEWING])
        start = time.perf_counter()
        for count, (chat, state) in enumerate(zip(itertools.cycle(chats), states, strict=False), start=1):
            if time.perf_counter() - start >= seconds:
                break
            mark = new_mark("p")
            request = live.AnnouncePresenceRequest(threads_id=chat, client_id="bench", state=state, display_name=mark)
            sent[mark] = time.time()
            await stub.AnnouncePresence(request, metadata=AGENT)
            await asyncio.sleep(max(0.0, start + count / rate - time.perf_counter()))
        for chat in chats:
            await stub.LeavePresence(live.LeavePresenceRequest(threads_id=chat, client_id="bench"), metadata=AGENT)
    return sent


class DraftStream:
    """One agent's draft on StreamDraft: deltas queued by the pacer, written by gRPC as fast as it can."""

    def __init__(self, stub: DraftServiceAsyncStub, chat_id: str) -> None:
        self._queue: asyncio.Queue[live.StreamDraftRequest | None] = asyncio.Queue()
        start = live.StartDraftRequest(draft_id=str(uuid.uuid4()), threads_id=chat_id, agent_id="bench")
        self._queue.put_nowait(live.StreamDraftRequest(start=start))
        self._seq = 0
        self._call = stub.StreamDraft(self._requests(), metadata=AGENT)

    async def _requests(self) -> AsyncIterator[live.StreamDraftRequest]:
        while (step := await self._queue.get()) is not None:
            yield step

    def send(self, sent: dict[str, float]) -> None:
        """Queue one marked delta, noting when."""
        self._seq += 1
        mark = new_mark("d")
        sent[mark] = time.time()
        self._queue.put_nowait(live.StreamDraftRequest(delta=live.DraftChunk(seq=self._seq, text=mark)))

    async def abandon(self) -> None:
        """End the draft (abandoned: the benchmark stores no message)."""
        self._queue.put_nowait(live.StreamDraftRequest(abandon=live.AbandonDraftRequest(reason="bench")))
        self._queue.put_nowait(None)
        with contextlib.suppress(grpc.aio.AioRpcError):
            await self._call


async def draft_deltas(target: str, chats: Sequence[str], *, rate_per_draft: float, seconds: float) -> dict[str, float]:
    """One draft per chat, each sent ``rate_per_draft`` deltas/s for ``seconds``; mark -> time sent."""
    sent: dict[str, float] = {}
    async with grpc.aio.insecure_channel(target) as channel:
        stub: DraftServiceAsyncStub = live_grpc.DraftServiceStub(channel)
        drafts = [DraftStream(stub, chat) for chat in chats]
        start, tick = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            for draft in drafts:
                draft.send(sent)
            tick += 1
            await asyncio.sleep(max(0.0, start + tick / rate_per_draft - time.perf_counter()))
        await asyncio.gather(*(draft.abandon() for draft in drafts))
    return sent
