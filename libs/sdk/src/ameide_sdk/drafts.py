"""The agent side of draft assistant messages: ``stream_draft`` writes one on DraftService's client stream.

Deltas are numbered from 1 and kept, so a stream broken by the network or a server restart is opened again (same
draft id) and every delta re-sent: the server applies each number once. Leaving the ``async with`` block normally
completes the draft (one assistant message, the draft id being its idempotency key, so a completion repeated after
a lost answer stores nothing twice); leaving it with an exception abandons the draft and re-raises. A draft id that
was completed before (an agent restarted after its completion) yields a writer whose ``completed`` is that message
from the start: its appends are ignored and nothing is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Self

import grpc
import grpc.aio

from ameide_core_proto.live.v1 import live_service_pb2 as live
from ameide_sdk.errors import RESUMABLE_CODES, error_reason
from ameide_sdk.subscriptions import ReconnectPolicy

if TYPE_CHECKING:
    from ameide_core_proto.live.v1.live_service_pb2_grpc import DraftServiceAsyncStub

_END = object()
_MAX_REASON_CHARS = 256


class DraftWriter:
    """One draft of an agent in a chat (use ``AmeideClient.stream_draft``).

    Example::

        async with client.stream_draft(chat_id, agent_id="summarizer") as draft:
            for token in ("The diagram ", "has three ", "tasks."):
                await draft.append(token)
        print(draft.completed.message_id)  # the stored assistant message
    """

    def __init__(
        self,
        stub: DraftServiceAsyncStub,
        threads_id: str,
        *,
        agent_id: str,
        draft_id: str | None = None,
        artifact_id: str = "",
        consistency_token: str = "",
        policy: ReconnectPolicy | None = None,
    ) -> None:
        self._stub = stub
        self.threads_id = threads_id
        self.agent_id = agent_id
        self.draft_id = draft_id or str(uuid.uuid4())
        self._artifact_id = artifact_id
        # Sent with every (re)start: a reopened stream may reach a replica whose read model is further behind.
        self._consistency_token = consistency_token
        self._policy = policy or ReconnectPolicy()
        self._chunks: list[str] = []
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._call: grpc.aio.StreamUnaryCall[live.StreamDraftRequest, live.StreamDraftResponse] | None = None
        self.completed: live.CompleteDraftResponse | None = None
        """The stored message (id, sequence, consistency token) once the draft is completed."""
        self.abandoned = False

    @property
    def seq(self) -> int:
        """How many deltas were appended."""
        return len(self._chunks)

    @property
    def text(self) -> str:
        """The draft so far."""
        return "".join(self._chunks)

    async def __aenter__(self) -> Self:
        start = self._start_request()
        try:
            await self._stub.StartDraft(start)
        except grpc.aio.AioRpcError as error:
            if error_reason(error) != "DRAFT_ENDED":
                raise
            # Ended before: completed (the stored message is the answer) or abandoned (CompleteDraft refuses).
            self.completed = await self._stub.CompleteDraft(live.CompleteDraftRequest(draft_id=self.draft_id))
            return self
        self._open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.completed is not None or self.abandoned:
            return
        if exc is None:
            await self.complete()
        else:
            with contextlib.suppress(grpc.aio.AioRpcError):
                await self.abandon(f"{type(exc).__name__}: {exc}"[:_MAX_REASON_CHARS])

    async def append(self, text: str) -> None:
        """Add ``text`` to the draft (subscribers see it at once); skipped when empty or the draft was completed."""
        if not text or self.completed is not None:
            return
        await self._raise_if_failed()
        self._chunks.append(text)
        self._queue.put_nowait(live.StreamDraftRequest(delta=live.DraftChunk(seq=len(self._chunks), text=text)))

    async def complete(self) -> live.CompleteDraftResponse:
        """Send the draft as the chat's assistant message (what leaving the block does)."""
        step = live.StreamDraftRequest(complete=live.CompleteDraftRequest(artifact_id=self._artifact_id))
        response = await self._finish(step)
        self.completed = response.completed
        return self.completed

    async def abandon(self, reason: str = "") -> None:
        """Give the draft up; subscribers remove it."""
        await self._finish(live.StreamDraftRequest(abandon=live.AbandonDraftRequest(reason=reason)))
        self.abandoned = True

    def _start_request(self) -> live.StartDraftRequest:
        return live.StartDraftRequest(
            draft_id=self.draft_id,
            threads_id=self.threads_id,
            agent_id=self.agent_id,
            consistency_token=self._consistency_token,
        )

    def _open(self) -> None:
        """A new stream: start, then every delta so far (the server skips those it has)."""
        self._queue = asyncio.Queue()
        self._queue.put_nowait(live.StreamDraftRequest(start=self._start_request()))
        for seq, chunk in enumerate(self._chunks, start=1):
            self._queue.put_nowait(live.StreamDraftRequest(delta=live.DraftChunk(seq=seq, text=chunk)))
        self._call = self._stub.StreamDraft(self._requests(self._queue))

    @staticmethod
    async def _requests(queue: asyncio.Queue[object]) -> AsyncIterator[live.StreamDraftRequest]:
        while (step := await queue.get()) is not _END:
            assert isinstance(step, live.StreamDraftRequest)  # noqa: S101 - only requests and _END are queued
            yield step

    async def _raise_if_failed(self) -> None:
        """A stream that ended early: reopen it when that is resumable, else raise its error."""
        if self._call is not None and self._call.done():
            try:
                await self._call
            except grpc.aio.AioRpcError as error:
                if not _resumable(error):
                    raise
                await asyncio.sleep(self._policy.delay(1))
            self._open()

    async def _finish(self, last: live.StreamDraftRequest) -> live.StreamDraftResponse:
        """Send ``last``, close the stream and return its answer; on a resumable failure, everything again."""
        await self._raise_if_failed()
        for attempt in range(1, self._policy.max_attempts + 1):
            self._queue.put_nowait(last)
            self._queue.put_nowait(_END)
            assert self._call is not None  # noqa: S101 - opened on entry, reopened below
            try:
                return await self._call
            except grpc.aio.AioRpcError as error:
                if attempt > 1 and error_reason(error) == "DRAFT_ENDED":
                    # The previous attempt's last step arrived after every delta; only its answer was lost.
                    return await self._ended_by_earlier_attempt(last)
                if not _resumable(error) or attempt == self._policy.max_attempts:
                    raise
            await asyncio.sleep(self._policy.delay(attempt))
            self._open()
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _ended_by_earlier_attempt(self, last: live.StreamDraftRequest) -> live.StreamDraftResponse:
        if last.WhichOneof("step") == "abandon":
            return live.StreamDraftResponse(seq=self.seq, abandoned=True)
        answer = await self._stub.CompleteDraft(live.CompleteDraftRequest(draft_id=self.draft_id))
        return live.StreamDraftResponse(seq=self.seq, completed=answer)


def _resumable(error: grpc.aio.AioRpcError) -> bool:
    """Worth opening the stream again: the server went away, or lost the draft with Redis (start recreates it)."""
    return error.code() in RESUMABLE_CODES or error_reason(error) == "DRAFT_NOT_FOUND"
