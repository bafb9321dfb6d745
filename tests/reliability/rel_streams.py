"""A stream follower as a careful client writes it: load, subscribe with the checkpoint, resume after any failure.

The follower reads the sequence number out of every checkpoint token (the test knows the services' token secret),
so it can tell a gap (a sequence skipped, or a control message claiming a position it never received), a duplicate
delivery (at-least-once: deduplicated, counted) and what it still lacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Mapping

import grpc
import grpc.aio

from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from ameide_readmodel.feed.names import chat_feed
from ameide_runtime import resume
from ameide_runtime.tokens import TokenCodec
from tests.reliability.rel_client import Caller, Code, Stubs, Tally

# A stream may end because its server went away or shut down (resume elsewhere), because the subscriber fell
# behind (resume with the last token), or because the deadline the follower set for one connection passed.
STREAM_ALLOWED = frozenset({Code.UNAVAILABLE, Code.RESOURCE_EXHAUSTED, Code.DEADLINE_EXCEEDED, Code.CANCELLED})


@dataclasses.dataclass
class Follower:
    """Follows one chat's live updates across reconnects."""

    chat_id: str
    caller: Caller
    codec: TokenCodec
    tally: Tally
    start_seq: int = 0
    last_seq: int = 0
    token: str = ""
    gaps: list[str] = dataclasses.field(default_factory=list)
    duplicates: int = 0
    reconnects: int = 0
    message_ids: list[str] = dataclasses.field(default_factory=list)
    ended: bool = False
    advanced: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def _seq(self, token: str) -> int:
        feed = chat_feed(self.chat_id)
        return resume.parse(self.codec, token, tenant_id=self.caller.tenant_id, feed=feed, ttl_seconds=86400).seq

    async def load(self, stubs: Stubs, consistency_token: str = "") -> None:
        """GetChat (after the chat's creation is visible), then start from its checkpoint: nothing is missed."""
        request = chat.GetChatRequest(threads_id=self.chat_id, consistency_token=consistency_token)
        while True:
            try:
                reply = await stubs.chat_reads.GetChat(request, metadata=self.caller.metadata, timeout=10)
                self.tally.ok()
                break
            except grpc.aio.AioRpcError as error:
                self.tally.failed("GetChat", error, {Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED})
                await asyncio.sleep(0.1)
        self.token = reply.checkpoint_token
        self.start_seq = self.last_seq = self._seq(self.token)

    def take(self, update: chat.ChatUpdate) -> None:
        """Account for one received update (dedupe, gap detection, message ids)."""
        seq = self._seq(update.checkpoint_token)
        case = update.WhichOneof("update")
        if case == "control":
            if seq > self.last_seq:
                self.gaps.append(f"control {update.control.kind} claims {seq} after {self.last_seq}")
                self.last_seq, self.token = seq, update.checkpoint_token
                self.advanced.set()
            return
        if seq <= self.last_seq:
            self.duplicates += 1
            return
        if seq != self.last_seq + 1:
            self.gaps.append(f"{self.last_seq} -> {seq}")
        self.last_seq, self.token = seq, update.checkpoint_token
        self.advanced.set()
        if case == "message":
            self.message_ids.append(update.message.id)
        if case == "deleted":
            self.ended = True

    async def run(self, stubs: Stubs) -> None:
        """Subscribe, and resume with the last token whenever the stream ends, until cancelled or deleted."""
        pause = 0.05
        while not self.ended:
            received = self.last_seq
            call = stubs.chat_reads.StreamChatUpdates(
                chat.StreamChatRequest(threads_id=self.chat_id, resume_token=self.token),
                metadata=self.caller.metadata,
            )
            try:
                async for update in call:
                    self.take(update)
                self.tally.ok()
            except grpc.aio.AioRpcError as error:
                self.tally.failed("StreamChatUpdates", error, STREAM_ALLOWED)
            finally:
                call.cancel()
            self.reconnects += 1
            pause = 0.05 if self.last_seq > received else min(pause * 2, 0.5)
            await asyncio.sleep(pause)

    async def wait_for(self, seq: int, *, within: float = 90.0) -> bool:
        """Wait (bounded) until the follower has everything up to ``seq``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while self.last_seq < seq:
                    self.advanced.clear()
                    await self.advanced.wait()
        return self.last_seq >= seq


@contextlib.asynccontextmanager
async def following(
    followers: list[Follower], stubs: Stubs, tokens: Mapping[str, str] | None = None
) -> AsyncIterator[list[Follower]]:
    """Load each new follower's chat (waiting for ``tokens[chat_id]``), then run them until the block ends.

    A follower that already holds a token resumes from it instead of loading again.
    """
    for follower in followers:
        if not follower.token:
            await follower.load(stubs, (tokens or {}).get(follower.chat_id, ""))
    tasks = [asyncio.create_task(f.run(stubs), name=f"follow-{f.chat_id}") for f in followers]
    try:
        yield followers
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
