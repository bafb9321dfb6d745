"""ArtifactQueryService's unary reads."""

from __future__ import annotations

import datetime as dt
import uuid

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as svc
from ameide_query import paging
from ameide_query.reads.common import keyset, optional_id, parse_id, position
from ameide_query.views import access, artifacts
from ameide_query.views.consistency import ConsistencyWaiter
from ameide_query.views.db import ReadPool
from ameide_readmodel.feed.names import artifact_feed
from ameide_readmodel.wire import artifact_view
from ameide_runtime import resume
from ameide_runtime.errors import FieldViolation, InvalidArgument, NotFound
from ameide_runtime.identity import reconcile
from ameide_runtime.tokens import TokenCodec

# GetArtifact(include_chats) lists at most this many chats; GetArtifactChats pages through all of them.
INCLUDED_CHATS = 100


def _artifact_not_found(artifact_id: uuid.UUID) -> NotFound:
    return NotFound(f"artifact {artifact_id} not found", reason="ARTIFACT_NOT_FOUND")


class ArtifactReads:
    """Handlers of GetArtifact, ListArtifacts, GetArtifactChats and GetArtifactHistory."""

    def __init__(self, db: ReadPool, codec: TokenCodec, waiter: ConsistencyWaiter) -> None:
        self._db = db
        self._codec = codec
        self._waiter = waiter

    async def get_artifact(self, request: svc.GetArtifactRequest) -> svc.GetArtifactResponse:
        """One readable artifact with content (current or a past version), optionally with its readable chats."""
        caller = reconcile(tenant_id=request.tenant_id)
        artifact_id = parse_id(request.artifact_id, "artifact_id")
        if request.version < 0:
            raise InvalidArgument(FieldViolation("version", "must not be negative"))
        await self._waiter.wait(request.consistency_token)
        feed = artifact_feed(str(artifact_id))
        async with self._db.connection() as conn:
            found = await artifacts.get_artifact(conn, caller, artifact_id, feed, version=request.version)
            if found is None:
                raise _artifact_not_found(artifact_id)
            linked = None
            if request.include_chats:
                linked = await artifacts.artifact_chats(conn, caller, artifact_id, after=None, limit=INCLUDED_CHATS)
        artifact, seq = found
        view = artifact_view(artifact)
        if linked is not None:
            view.threads_ids.extend(str(c.chat_id) for c in linked.rows)
            view.threads_refs.extend(c.message() for c in linked.rows)
        token = resume.issue(self._codec, tenant_id=caller.tenant_id, feed=feed, seq=seq)
        return svc.GetArtifactResponse(artifact=view, checkpoint_token=token)

    async def list_artifacts(self, request: svc.ListArtifactsRequest) -> svc.ListArtifactsResponse:
        """The tenant's artifacts, most recently updated first, optionally of one kind or linked to one chat."""
        caller = reconcile(user_id=request.user_id, tenant_id=request.tenant_id)
        chat_id = optional_id(request.threads_id, "threads_id")
        limit = paging.page_size(request.page_size, paging.CHATS)
        binding = paging.query_hash("ListArtifacts", request.kind, str(chat_id or ""))
        tokens = paging.PageTokens(self._codec, caller, binding)
        after = keyset(tokens.position(request.page_token), dt.datetime, uuid.UUID)
        await self._waiter.wait(request.consistency_token)
        async with self._db.connection() as conn:
            if chat_id is not None and await access.readable_chat(conn, caller, chat_id) is None:
                raise NotFound(f"chat {chat_id} not found", reason="CHAT_NOT_FOUND")
            page = await artifacts.list_artifacts(
                conn, caller, kind=request.kind, chat_id=chat_id, after=after, limit=limit
            )
        views = [artifact_view(a) for a in page.rows]
        keep = paging.fitting(views)
        reply = svc.ListArtifactsResponse(artifacts=views[:keep], total_count=page.total)
        if page.has_more or keep < len(views):
            last = page.rows[keep - 1]
            reply.next_page_token = tokens.issue(position(last.updated_at, last.id))
        return reply

    async def get_artifact_chats(self, request: svc.GetArtifactChatsRequest) -> svc.GetArtifactChatsResponse:
        """Chats linked to a readable artifact that the caller may read, most recently linked first."""
        caller = reconcile(tenant_id=request.tenant_id)
        artifact_id = parse_id(request.artifact_id, "artifact_id")
        limit = paging.page_size(request.page_size, paging.CHATS)
        tokens = paging.PageTokens(self._codec, caller, paging.query_hash("GetArtifactChats", str(artifact_id)))
        after = keyset(tokens.position(request.page_token), dt.datetime, uuid.UUID)
        await self._waiter.wait(request.consistency_token)
        async with self._db.connection() as conn:
            if await access.readable_artifact(conn, caller, artifact_id) is None:
                raise _artifact_not_found(artifact_id)
            page = await artifacts.artifact_chats(conn, caller, artifact_id, after=after, limit=limit)
        reply = svc.GetArtifactChatsResponse(threads=[c.message() for c in page.rows], total_count=page.total)
        if page.has_more:
            last = page.rows[-1]
            reply.next_page_token = tokens.issue(position(last.linked_at, last.chat_id))
        return reply

    async def get_artifact_history(self, request: svc.GetArtifactHistoryRequest) -> svc.GetArtifactHistoryResponse:
        """A readable artifact's history, oldest first."""
        caller = reconcile(tenant_id=request.tenant_id)
        artifact_id = parse_id(request.artifact_id, "artifact_id")
        limit = paging.page_size(request.page_size, paging.CHATS)
        tokens = paging.PageTokens(self._codec, caller, paging.query_hash("GetArtifactHistory", str(artifact_id)))
        after = keyset(tokens.position(request.page_token), int)
        await self._waiter.wait(request.consistency_token)
        async with self._db.connection() as conn:
            if await access.readable_artifact(conn, caller, artifact_id) is None:
                raise _artifact_not_found(artifact_id)
            page = await artifacts.history(
                conn, caller, artifact_id, after_version=after[0] if after else 0, limit=limit
            )
        entries = [e.message() for e in page.rows]
        keep = paging.fitting(entries)
        reply = svc.GetArtifactHistoryResponse(entries=entries[:keep], total_count=page.total)
        if page.has_more or keep < len(entries):
            reply.next_page_token = tokens.issue([page.rows[keep - 1].version])
        return reply
