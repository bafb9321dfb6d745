"""DraftService: open, grow, complete and abandon draft assistant messages (unary calls and the client stream).

Only the caller who started a draft (same tenant and user) may touch it; anyone else gets NOT_FOUND, as for a
draft that never existed. Completing sends the text through the command side (``completion``), waits until the
read model holds the message, notes the chat feed's head, and only then announces the completion: a subscriber
is told "replace the draft by message M" after it has been sent M.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from ameide_core_proto.live.v1 import live_service_pb2 as svc
from ameide_query.live import validation
from ameide_query.live.access import ResourceAccess
from ameide_query.live.completion import CommandRefused, MessageSender
from ameide_query.live.drafts import DraftStore
from ameide_query.live.limits import MessageLimits
from ameide_query.views import feeds
from ameide_query.views.consistency import ConsistencyWaiter
from ameide_query.views.db import ReadPool
from ameide_readmodel.feed.names import chat_feed
from ameide_runtime import identity
from ameide_runtime.errors import (
    AmeideError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
)

_log = logging.getLogger(__name__)
Metadata = Sequence[tuple[str, str | bytes]]


def _not_found(draft_id: str) -> NotFound:
    return NotFound(f"draft {draft_id} not found", reason="DRAFT_NOT_FOUND")


def _ended(draft_id: str) -> FailedPrecondition:
    return FailedPrecondition(f"draft {draft_id} has already ended", reason="DRAFT_ENDED")


class DraftHandlers:
    """The DraftService RPCs over the draft store."""

    def __init__(
        self,
        store: DraftStore,
        access: ResourceAccess,
        sender: MessageSender,
        limits: MessageLimits,
        *,
        db: ReadPool,
        consistency: ConsistencyWaiter,
    ) -> None:
        self._store = store
        self._access = access
        self._sender = sender
        self._max_bytes = limits.max_draft_bytes()
        self._db = db
        self._consistency = consistency

    async def start(self, request: svc.StartDraftRequest) -> svc.StartDraftResponse:
        """StartDraft."""
        caller = identity.reconcile(tenant_id=request.tenant_id)
        checks = validation.Violations()
        draft_id = validation.draft_id(request.draft_id, checks)
        chat_id = checks.uuid("threads_id", request.threads_id)
        checks.text("agent_id", request.agent_id, validation.MAX_AGENT_CHARS, required=True)
        checks.check()
        assert chat_id is not None  # noqa: S101 - check() raised otherwise
        await self._consistency.wait(request.consistency_token)
        await self._access.require_writable_chat(caller, chat_id)
        opened = await self._store.start(draft_id, caller, str(chat_id), chat_feed(str(chat_id)), request.agent_id)
        if opened.status == "reused":
            raise FailedPrecondition(
                f"draft {draft_id} belongs to another chat, agent or caller", reason="DRAFT_ID_REUSED"
            )
        if opened.status != "active":
            raise _ended(draft_id)
        response = svc.StartDraftResponse(seq=opened.seq)
        response.expires_at.FromDatetime(datetime.fromtimestamp(opened.deadline_ms / 1000, UTC))
        return response

    async def append(self, request: svc.AppendDraftRequest) -> svc.AppendDraftResponse:
        """AppendDraft."""
        checks = validation.Violations()
        draft_id = validation.draft_id(request.draft_id, checks)
        checks.check()
        return svc.AppendDraftResponse(seq=await self._append(draft_id, request.seq, request.text, "text"))

    async def _append(self, draft_id: str, seq: int, text: str, field: str) -> int:
        checks = validation.Violations()
        validation.seq(seq, checks)
        if not text:
            checks.fail(field, "required")
        checks.check()
        appended = await self._store.append(draft_id, identity.current(), seq, text, self._max_bytes)
        if appended.status == "not_found":
            raise _not_found(draft_id)
        if appended.status == "ended":
            raise _ended(draft_id)
        if appended.status == "gap":
            raise FailedPrecondition(
                f"delta {seq} of draft {draft_id} does not follow {appended.seq}: send {appended.seq + 1} next",
                reason="DRAFT_SEQUENCE_GAP",
                metadata={"last_seq": str(appended.seq)},
            )
        if appended.status == "too_large":
            raise InvalidArgument(
                FieldViolation(field, f"the draft would exceed {self._max_bytes} bytes, the most one message holds"),
                reason="DRAFT_TOO_LARGE",
            )
        return appended.seq

    async def complete(self, request: svc.CompleteDraftRequest, metadata: Metadata) -> svc.CompleteDraftResponse:
        """CompleteDraft."""
        checks = validation.Violations()
        draft_id = validation.draft_id(request.draft_id, checks)
        if request.artifact_id:
            checks.uuid("artifact_id", request.artifact_id)
        checks.check()
        return await self._complete(draft_id, request.artifact_id, metadata)

    async def _complete(self, draft_id: str, artifact_id: str, metadata: Metadata) -> svc.CompleteDraftResponse:
        caller = identity.current()
        found = await self._store.begin_complete(draft_id, caller)
        if found.status == "completed":
            return svc.CompleteDraftResponse.FromString(found.value)
        if found.status == "not_found":
            raise _not_found(draft_id)
        if found.status == "ended":
            raise _ended(draft_id)
        if found.status == "empty":
            raise FailedPrecondition(f"draft {draft_id} has no text to send", reason="DRAFT_EMPTY")
        request = self._sender.request(
            threads_id=found.threads_id, text=found.value.decode(), draft_id=draft_id, artifact_id=artifact_id,
            tenant_id=caller.tenant_id,
        )  # fmt: skip
        try:
            sent = await self._sender.send(request, metadata)
        except CommandRefused as refused:
            if refused.definite:
                await self._store.reopen(draft_id)
            raise
        answer = svc.CompleteDraftResponse(
            message_id=sent.message.id,
            message_sequence=sent.message.sequence,
            created_at=sent.message.created_at,
            consistency_token=sent.consistency_token,
        )
        head = await self._feed_head_after(found.threads_id, sent.consistency_token)
        await self._store.finish_complete(
            draft_id, answer.SerializeToString(), sent.message.id, sent.message.sequence, head
        )
        return answer

    async def _feed_head_after(self, threads_id: str, consistency_token: str) -> int:
        """The chat feed's head once the message is projected (0 when the projector is too far behind)."""
        try:
            await self._consistency.wait(consistency_token)
            async with self._db.connection() as conn:
                return await feeds.head(conn, chat_feed(threads_id))
        except Unavailable:
            _log.warning("completing a draft of chat %s before the message was projected", threads_id)
            return 0

    async def abandon(self, request: svc.AbandonDraftRequest) -> svc.AbandonDraftResponse:
        """AbandonDraft."""
        checks = validation.Violations()
        draft_id = validation.draft_id(request.draft_id, checks)
        checks.check()
        await self._abandon(draft_id, request.reason)
        return svc.AbandonDraftResponse()

    async def _abandon(self, draft_id: str, reason: str, field: str = "reason") -> None:
        checks = validation.Violations()
        checks.text(field, reason, validation.MAX_REASON_CHARS)
        checks.check()
        status = await self._store.abandon(draft_id, identity.current(), reason)
        if status == "not_found":
            raise _not_found(draft_id)
        if status == "ended":
            raise _ended(draft_id)

    async def stream(
        self, requests: AsyncIterator[svc.StreamDraftRequest], metadata: Metadata
    ) -> svc.StreamDraftResponse:
        """StreamDraft: ``start`` first, then deltas, then at most one ``complete`` or ``abandon``, last."""
        draft_id, seq, response = "", 0, svc.StreamDraftResponse()
        async for step in requests:
            case = step.WhichOneof("step")
            if response.HasField("completed") or response.abandoned:
                raise _invalid("step", "nothing may follow complete or abandon")
            if case == "start":
                if draft_id:
                    raise _invalid("start", "a stream starts one draft")
                started = await self.start(step.start)
                draft_id, seq = str(uuid.UUID(step.start.draft_id)), started.seq
            elif not draft_id:
                raise _invalid("start", "the first message must be start")
            elif case == "delta":
                seq = await self._append(draft_id, step.delta.seq, step.delta.text, "delta.text")
            elif case == "complete":
                _same_draft(step.complete.draft_id, draft_id, "complete.draft_id")
                response.completed.CopyFrom(await self._complete(draft_id, step.complete.artifact_id, metadata))
            elif case == "abandon":
                _same_draft(step.abandon.draft_id, draft_id, "abandon.draft_id")
                await self._abandon(draft_id, step.abandon.reason, "abandon.reason")
                response.abandoned = True
            else:
                raise _invalid("step", "start, delta, complete or abandon is required")
        response.seq = seq
        return response


def _invalid(field: str, description: str) -> AmeideError:
    return InvalidArgument(FieldViolation(field, description))


def _same_draft(given: str, draft_id: str, field: str) -> None:
    if given and given != draft_id:
        try:
            same = str(uuid.UUID(given)) == draft_id
        except ValueError:
            same = False
        if not same:
            raise _invalid(field, "must be empty or the stream's draft")
