"""A scripted fake of the chat services for SDK tests: a real grpc.aio server, no business logic.

The fake answers like the real services on the wire (status codes, ``google.rpc.Status`` details, checkpoint
tokens shaped ``base64url(json).mac``), and lets a test script failures: which codes the next calls fail with,
where a stream breaks, and how far back a resumed stream replays (the real service delivers at least once).
"""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import grpc.aio
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2, artifacts_service_pb2_grpc, artifacts_types_pb2
from ameide_core_proto.live.v1 import live_service_pb2, live_service_pb2_grpc
from ameide_core_proto.threads.v1 import (
    threads_service_pb2,
    threads_service_pb2_grpc,
    threads_types_pb2,
)

Control = threads_types_pb2.StreamControl


def make_token(seq: int, *, issued_at: float = 1.0) -> str:
    """A checkpoint token shaped like the service's (the SDK reads only ``q``; the mac is not checked here)."""
    body = json.dumps({"f": "feed", "i": issued_at, "q": seq, "t": "tenant"}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(body).rstrip(b"=").decode() + ".bWFj"


def token_seq(token: str) -> int:
    """The sequence inside a token made by ``make_token`` (0 for "")."""
    if not token:
        return 0
    body = token.split(".", 1)[0]
    return int(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["q"])


async def abort_with_reason(context: grpc.aio.ServicerContext[Any, Any], code: grpc.StatusCode, reason: str) -> None:
    """Abort like the services' error interceptor: the ErrorInfo reason in ``grpc-status-details-bin``."""
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="ameide.threads"))
    status = status_pb2.Status(code=code.value[0], message=reason.lower(), details=[detail])
    await context.abort(
        code, reason.lower(), trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),)
    )


@dataclass
class FakeChatCommands(threads_service_pb2_grpc.ChatCommandServiceServicer):
    """Records every EnsureChat... call; fails the first calls with ``failures``; replays by idempotency key."""

    failures: list[grpc.StatusCode] = field(default_factory=list)
    calls: list[threads_service_pb2.EnsureChatForArtifactAndSendMessageRequest] = field(default_factory=list)
    metadata: list[dict[str, str]] = field(default_factory=list)
    responses: dict[str, threads_service_pb2.EnsureChatForArtifactAndSendMessageResponse] = field(default_factory=dict)

    async def EnsureChatForArtifactAndSendMessage(
        self,
        request: threads_service_pb2.EnsureChatForArtifactAndSendMessageRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> threads_service_pb2.EnsureChatForArtifactAndSendMessageResponse:
        """Record the call, fail as scripted, else answer (the same answer for a repeated key)."""
        self.calls.append(request)
        self.metadata.append({key: str(value) for key, value in context.invocation_metadata() or ()})
        if self.failures:
            await abort_with_reason(context, self.failures.pop(0), "SCRIPTED")
        if request.idempotency_key not in self.responses:
            self.responses[request.idempotency_key] = threads_service_pb2.EnsureChatForArtifactAndSendMessageResponse(
                threads_id=request.threads_id or str(uuid.uuid4()),
                persisted_message=threads_types_pb2.ChatMessage(id=str(uuid.uuid4()), role="user"),
                threads_created=not request.threads_id,
                consistency_token="ct",
            )
        return self.responses[request.idempotency_key]


@dataclass
class StreamScript:
    """How the fake feed behaves.

    ``length`` data updates exist (seq 1..length). Connection number i (0-based) breaks with ``breaks[i]`` =
    (code, after how many data updates) when listed. A resumed connection replays from ``overlap`` updates
    before the resume point. ``expire_below``: a resume token with a lower seq is RESUME_TOKEN_EXPIRED.
    """

    length: int = 10
    breaks: list[tuple[grpc.StatusCode, int]] = field(default_factory=list)
    overlap: int = 0
    expire_below: int = 0
    heartbeat_every: int = 0
    reset_details: str = "SCRIPTED"
    resume_tokens: list[str] = field(default_factory=list)
    requests: list[threads_service_pb2.StreamChatRequest] = field(default_factory=list)


@dataclass
class FakeChatQueries(threads_service_pb2_grpc.ChatQueryServiceServicer):
    """GetMessages over ``messages`` (pages of ``page_size``) and a scripted StreamChatUpdates."""

    messages: list[str] = field(default_factory=list)
    script: StreamScript = field(default_factory=StreamScript)

    async def GetMessages(
        self, request: threads_service_pb2.GetMessagesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> threads_service_pb2.GetMessagesResponse:
        """One page; the page token is the offset (the real one is opaque)."""
        del context
        start = int(request.page_token or 0)
        size = request.page_size or 50
        page = self.messages[start : start + size]
        more = start + size < len(self.messages)
        return threads_service_pb2.GetMessagesResponse(
            messages=[threads_types_pb2.ChatMessage(id=message_id) for message_id in page],
            next_page_token=str(start + size) if more else "",
            has_more=more,
            total_count=len(self.messages),
        )

    async def StreamChatUpdates(
        self, request: threads_service_pb2.StreamChatRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[threads_service_pb2.ChatUpdate]:
        """SUBSCRIBED, the updates after the resume point (minus ``overlap``), CAUGHT_UP; breaks as scripted."""
        script = self.script
        connection = len(script.resume_tokens)
        script.resume_tokens.append(request.resume_token)
        script.requests.append(request)
        after = token_seq(request.resume_token)
        if request.resume_token and after < script.expire_below:
            await abort_with_reason(context, grpc.StatusCode.FAILED_PRECONDITION, "RESUME_TOKEN_EXPIRED")
        yield _control(Control.KIND_SUBSCRIBED, after)
        code, cut_after = script.breaks[connection] if connection < len(script.breaks) else (None, -1)
        first = max(1, after + 1 - script.overlap)
        for sent, seq in enumerate(range(first, script.length + 1)):
            if sent == cut_after and code is not None:
                await abort_with_reason(context, code, script.reset_details)
            yield threads_service_pb2.ChatUpdate(
                message=threads_types_pb2.ChatMessage(id=f"m{seq}", sequence=seq), checkpoint_token=make_token(seq)
            )
            if script.heartbeat_every and seq % script.heartbeat_every == 0:
                yield _control(Control.KIND_HEARTBEAT, seq)
        if code is not None:
            await abort_with_reason(context, code, script.reset_details)
        yield _control(Control.KIND_CAUGHT_UP, script.length)


def _control(kind: Control.Kind.ValueType, seq: int) -> threads_service_pb2.ChatUpdate:
    return threads_service_pb2.ChatUpdate(control=Control(kind=kind), checkpoint_token=make_token(seq, issued_at=2.0))


@dataclass
class FakeArtifactQueries(artifacts_service_pb2_grpc.ArtifactQueryServiceServicer):
    """A StreamArtifactUpdates that sends ``length`` content updates, breaking once after ``break_after``."""

    length: int = 4
    break_after: int = 2
    resume_tokens: list[str] = field(default_factory=list)
    requests: list[artifacts_service_pb2.StreamArtifactRequest] = field(default_factory=list)
    # Instead of content updates: these, by sequence (a sequence left out stands for an update withheld).
    scripted: dict[int, artifacts_service_pb2.ArtifactUpdate] = field(default_factory=dict)

    async def StreamArtifactUpdates(
        self, request: artifacts_service_pb2.StreamArtifactRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[artifacts_service_pb2.ArtifactUpdate]:
        """Content updates 1..length (or ``scripted``), replayed in full on every connection."""
        first = not self.resume_tokens
        self.resume_tokens.append(request.resume_token)
        self.requests.append(request)
        # Always replay from the start: the SDK must drop what it already delivered.
        for seq in range(1, self.length + 1):
            if first and seq > self.break_after:
                await abort_with_reason(context, grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN")
            if self.scripted:
                if seq in self.scripted:
                    update = artifacts_service_pb2.ArtifactUpdate()
                    update.CopyFrom(self.scripted[seq])
                    update.checkpoint_token = make_token(seq)
                    yield update
                continue
            yield artifacts_service_pb2.ArtifactUpdate(
                content_updated=artifacts_types_pb2.ArtifactContent(body=f"v{seq}".encode()),
                checkpoint_token=make_token(seq),
                version=seq,
            )


@dataclass
class FakeDrafts(live_service_pb2_grpc.DraftServiceServicer):
    """DraftService with the server's bookkeeping (deltas applied once by number) and scripted stream breaks.

    Connection number i (0-based) fails with UNAVAILABLE after ``breaks[i]`` steps when listed; the first
    ``lost_answers`` streams that get to the end do all their steps and then fail with UNAVAILABLE anyway (the answer
    is lost on the way back).
    """

    breaks: list[int] = field(default_factory=list)
    lost_answers: int = 0
    text: dict[str, str] = field(default_factory=dict)
    last: dict[str, int] = field(default_factory=dict)
    ended: dict[str, str] = field(default_factory=dict)
    answers: dict[str, live_service_pb2.CompleteDraftResponse] = field(default_factory=dict)
    connections: int = 0
    metadata: list[dict[str, str]] = field(default_factory=list)

    async def StreamDraft(
        self,
        request_iterator: AsyncIterator[live_service_pb2.StreamDraftRequest],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> live_service_pb2.StreamDraftResponse:
        """Apply each step; break as scripted."""
        connection, self.connections = self.connections, self.connections + 1
        self.metadata.append({key: str(value) for key, value in context.invocation_metadata() or ()})
        cut = self.breaks[connection] if connection < len(self.breaks) else -1
        draft_id, steps, response = "", 0, live_service_pb2.StreamDraftResponse()
        async for step in request_iterator:
            if steps == cut:
                await abort_with_reason(context, grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN")
            steps += 1
            case = step.WhichOneof("step")
            if case == "start":
                draft_id = step.start.draft_id
                if draft_id in self.ended:
                    await abort_with_reason(context, grpc.StatusCode.FAILED_PRECONDITION, "DRAFT_ENDED")
                self.text.setdefault(draft_id, "")
                self.last.setdefault(draft_id, 0)
            elif case == "delta" and step.delta.seq == self.last[draft_id] + 1:
                self.text[draft_id] += step.delta.text
                self.last[draft_id] = step.delta.seq
            elif case == "complete":
                response.completed.CopyFrom(self._complete(draft_id))
            elif case == "abandon":
                self.ended[draft_id] = "abandoned"
                response.abandoned = True
        if self.lost_answers:
            self.lost_answers -= 1
            await abort_with_reason(context, grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN")
        response.seq = self.last.get(draft_id, 0)
        return response

    def _complete(self, draft_id: str) -> live_service_pb2.CompleteDraftResponse:
        self.ended[draft_id] = "completed"
        if draft_id not in self.answers:
            self.answers[draft_id] = live_service_pb2.CompleteDraftResponse(message_id=str(uuid.uuid4()))
        return self.answers[draft_id]

    async def StartDraft(
        self, request: live_service_pb2.StartDraftRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> live_service_pb2.StartDraftResponse:
        """How far the draft got; DRAFT_ENDED once it ended."""
        if request.draft_id in self.ended:
            await abort_with_reason(context, grpc.StatusCode.FAILED_PRECONDITION, "DRAFT_ENDED")
        self.metadata.append({key: str(value) for key, value in context.invocation_metadata() or ()})
        return live_service_pb2.StartDraftResponse(seq=self.last.get(request.draft_id, 0))

    async def CompleteDraft(
        self, request: live_service_pb2.CompleteDraftRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> live_service_pb2.CompleteDraftResponse:
        """The stored answer of a completed draft; DRAFT_ENDED for an abandoned one."""
        if self.ended.get(request.draft_id) == "abandoned":
            await abort_with_reason(context, grpc.StatusCode.FAILED_PRECONDITION, "DRAFT_ENDED")
        return self._complete(request.draft_id)


@dataclass
class FakePresence(live_service_pb2_grpc.PresenceServiceServicer):
    """Records announcements and leaves; asks for renewals every ``renew_after_ms``."""

    renew_after_ms: int = 20
    announced: list[live_service_pb2.AnnouncePresenceRequest] = field(default_factory=list)
    left: list[live_service_pb2.LeavePresenceRequest] = field(default_factory=list)

    async def AnnouncePresence(
        self, request: live_service_pb2.AnnouncePresenceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> live_service_pb2.AnnouncePresenceResponse:
        """Record it."""
        del context
        self.announced.append(request)
        return live_service_pb2.AnnouncePresenceResponse(renew_after_ms=self.renew_after_ms)

    async def LeavePresence(
        self, request: live_service_pb2.LeavePresenceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> live_service_pb2.LeavePresenceResponse:
        """Record it."""
        del context
        self.left.append(request)
        return live_service_pb2.LeavePresenceResponse()


@dataclass
class FakeServer:
    """The running fake: its address and the servicers to script and inspect."""

    target: str
    commands: FakeChatCommands
    queries: FakeChatQueries
    artifacts: FakeArtifactQueries
    drafts: FakeDrafts
    presence: FakePresence


@contextlib.asynccontextmanager
async def fake_server() -> AsyncIterator[FakeServer]:
    """Serve fresh fakes on 127.0.0.1:<ephemeral> for the block."""
    server = grpc.aio.server()
    # The fakes implement only the RPCs the SDK tests call; the others answer UNIMPLEMENTED like the base class.
    commands = FakeChatCommands()  # type: ignore[abstract]
    queries = FakeChatQueries()  # type: ignore[abstract]
    artifacts = FakeArtifactQueries()  # type: ignore[abstract]
    drafts = FakeDrafts()  # type: ignore[abstract]
    presence = FakePresence()  # type: ignore[abstract]
    live_service_pb2_grpc.add_DraftServiceServicer_to_server(drafts, server)
    live_service_pb2_grpc.add_PresenceServiceServicer_to_server(presence, server)
    threads_service_pb2_grpc.add_ChatCommandServiceServicer_to_server(commands, server)
    threads_service_pb2_grpc.add_ChatQueryServiceServicer_to_server(queries, server)
    artifacts_service_pb2_grpc.add_ArtifactQueryServiceServicer_to_server(artifacts, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield FakeServer(f"127.0.0.1:{port}", commands, queries, artifacts, drafts, presence)
    finally:
        await server.stop(None)
