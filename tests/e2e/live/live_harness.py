"""Callers of the running deployables for the live-signal end-to-end tests: writes, presence, drafts, streams."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import grpc.aio

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as arts
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc as arts_grpc
from ameide_core_proto.live.v1 import live_service_pb2 as live
from ameide_core_proto.live.v1 import live_service_pb2_grpc as live_grpc
from ameide_core_proto.live.v1 import live_types_pb2 as live_types
from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc as chats_grpc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from tests.support.stack import Stack

WAIT_SECONDS = 60
VIEWING, TYPING = live_types.PRESENCE_STATE_VIEWING, live_types.PRESENCE_STATE_TYPING
Kind = live_types.PresenceChange
CAUGHT_UP = types.StreamControl.KIND_CAUGHT_UP


class Caller:
    """One user of one tenant, with every stub the live tests use."""

    def __init__(
        self, stack: Stack, commands: grpc.aio.Channel, queries: grpc.aio.Channel, user: str, tenant: str
    ) -> None:
        self.user, self.tenant = user, tenant
        self.metadata = stack.metadata(user, tenant)
        self.chats = chats_grpc.ChatCommandServiceStub(commands)
        self.chat_queries = chats_grpc.ChatQueryServiceStub(queries)
        self.artifacts = arts_grpc.ArtifactCommandServiceStub(commands)
        self.artifact_queries = arts_grpc.ArtifactQueryServiceStub(queries)
        self.presence = live_grpc.PresenceServiceStub(queries)
        self.drafts = live_grpc.DraftServiceStub(queries)

    async def chat(self, visibility: types.ChatVisibility.ValueType = types.CHAT_VISIBILITY_TEAM) -> str:
        """A new chat, visible to the read model."""
        created = await self.chats.CreateChat(
            chats.CreateChatRequest(title="live", visibility=visibility), metadata=self.metadata
        )
        await self.chat_queries.GetChat(
            chats.GetChatRequest(threads_id=created.threads.id, consistency_token=created.consistency_token),
            metadata=self.metadata,
        )
        return created.threads.id

    async def artifact(self) -> str:
        """A new artifact, visible to the read model."""
        created = await self.artifacts.CreateArtifact(
            arts.CreateArtifactRequest(title="Doc", kind="document"), metadata=self.metadata
        )
        await self.artifact_queries.GetArtifact(
            arts.GetArtifactRequest(artifact_id=created.artifact_id, consistency_token=created.consistency_token),
            metadata=self.metadata,
        )
        return created.artifact_id

    async def announce(
        self, chat_id: str, client_id: str = "tab-1", state: live_types.PresenceState.ValueType = VIEWING, **more: Any
    ) -> Any:
        """AnnouncePresence on a chat."""
        request = live.AnnouncePresenceRequest(threads_id=chat_id, client_id=client_id, state=state, **more)
        return await self.presence.AnnouncePresence(request, metadata=self.metadata)

    async def leave(self, chat_id: str, client_id: str = "tab-1") -> None:
        """LeavePresence on a chat."""
        await self.presence.LeavePresence(
            live.LeavePresenceRequest(threads_id=chat_id, client_id=client_id), metadata=self.metadata
        )

    async def start(self, chat_id: str, agent_id: str = "demo", draft_id: str | None = None) -> str:
        """StartDraft; the draft's id."""
        draft_id = draft_id or str(uuid.uuid4())
        await self.drafts.StartDraft(
            live.StartDraftRequest(draft_id=draft_id, threads_id=chat_id, agent_id=agent_id), metadata=self.metadata
        )
        return draft_id

    async def append(self, draft_id: str, seq: int, text: str) -> int:
        """AppendDraft; the last sequence applied."""
        reply = await self.drafts.AppendDraft(
            live.AppendDraftRequest(draft_id=draft_id, seq=seq, text=text), metadata=self.metadata
        )
        return reply.seq

    async def complete(self, draft_id: str) -> live.CompleteDraftResponse:
        """CompleteDraft."""
        return await self.drafts.CompleteDraft(live.CompleteDraftRequest(draft_id=draft_id), metadata=self.metadata)

    async def messages(self, chat_id: str, consistency_token: str = "") -> list[types.ChatMessage]:
        """Every message of the chat (one page is enough here)."""
        page = await self.chat_queries.GetMessages(
            chats.GetMessagesRequest(threads_id=chat_id, page_size=200, consistency_token=consistency_token),
            metadata=self.metadata,
        )
        return list(page.messages)

    @contextlib.asynccontextmanager
    async def follow(self, chat_id: str, *, resume_token: str = "", signals: bool = True) -> AsyncIterator[Follower]:
        """StreamChatUpdates with signals, read in the background; yields once CAUGHT_UP and the snapshot arrived."""
        request = chats.StreamChatRequest(threads_id=chat_id, resume_token=resume_token, include_signals=signals)
        follower = Follower(self.chat_queries.StreamChatUpdates(request, metadata=self.metadata))
        async with follower.reading(expect_snapshot=signals):
            yield follower

    @contextlib.asynccontextmanager
    async def follow_artifact(self, artifact_id: str) -> AsyncIterator[Follower]:
        """StreamArtifactUpdates with signals."""
        request = arts.StreamArtifactRequest(artifact_id=artifact_id, include_signals=True)
        follower = Follower(self.artifact_queries.StreamArtifactUpdates(request, metadata=self.metadata))
        async with follower.reading(expect_snapshot=True):
            yield follower


@dataclass
class Follower:
    """A stream read by a background task: every update so far, and a way to wait for one."""

    call: Any
    updates: list[Any] = field(default_factory=list)
    error: grpc.aio.AioRpcError | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @contextlib.asynccontextmanager
    async def reading(self, *, expect_snapshot: bool) -> AsyncIterator[None]:
        """Read in the background for the block, which starts once the stream is live."""
        task = asyncio.create_task(self._read())
        try:
            # Live signals start with a snapshot after CAUGHT_UP; a stream without them is live at CAUGHT_UP.
            await self.wait_for(case("presence_snapshot") if expect_snapshot else case("control", kind=CAUGHT_UP))
            yield
        finally:
            self.call.cancel()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _read(self) -> None:
        try:
            async for update in self.call:
                self.updates.append(update)
                self._changed.set()
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                self.error = error
            self._changed.set()

    async def wait_for(self, predicate: Callable[[Any], bool], *, after: int = 0) -> Any:
        """The first update (at index ``after`` or later) that satisfies ``predicate``; waits for it."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                for update in self.updates[after:]:
                    if predicate(update):
                        return update
                if self.error is not None:
                    raise self.error
                self._changed.clear()
                await self._changed.wait()

    def of(self, case: str) -> list[Any]:
        """The values of every update of ``case`` so far."""
        return [getattr(u, case) for u in self.updates if u.WhichOneof("update") == case]

    def cases(self) -> list[str]:
        """The case of every update so far."""
        return [str(u.WhichOneof("update")) for u in self.updates]


def case(name: str, **fields: Any) -> Callable[[Any], bool]:
    """A predicate: an update of case ``name`` whose value has the given fields."""

    def matches(update: Any) -> bool:
        if update.WhichOneof("update") != name:
            return False
        value = getattr(update, name)
        return all(_field(value, key) == expected for key, expected in fields.items())

    return matches


def _field(value: Any, dotted: str) -> Any:
    for part in dotted.split("__"):
        value = getattr(value, part)
    return value


def draft_text(follower: Follower, draft_id: str) -> str:
    """The draft as the subscriber assembled it: the last draft_started, then the deltas after it."""
    text, seq = "", 0
    for update in follower.updates:
        kind = update.WhichOneof("update")
        if kind == "draft_started" and update.draft_started.draft_id == draft_id:
            text, seq = update.draft_started.text, update.draft_started.seq
        elif kind == "draft_delta" and update.draft_delta.draft_id == draft_id:
            assert update.draft_delta.seq == seq + 1, f"delta {update.draft_delta.seq} after {seq}"
            text, seq = text + update.draft_delta.text, update.draft_delta.seq
    return text
