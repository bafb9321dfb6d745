"""ChatQueryService's unary reads."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import uuid

from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_query import paging, wire
from ameide_query.reads.chat_filter import binding, chat_filter
from ameide_query.reads.common import keyset, parse_id, position
from ameide_query.views import chats, messages, search
from ameide_query.views.chats import ChatFilterValues
from ameide_query.views.consistency import ConsistencyWaiter
from ameide_query.views.db import ReadPool
from ameide_query.views.rows import fill_listed_chats, listed_chat_position
from ameide_readmodel.feed.names import chat_feed
from ameide_readmodel.wire import fill_chat
from ameide_runtime import resume
from ameide_runtime.errors import FieldViolation, InvalidArgument, NotFound
from ameide_runtime.identity import reconcile
from ameide_runtime.tokens import TokenCodec

# No ChatFilter in the request: what validating an empty one gives.
_NO_FILTER = ChatFilterValues()
_MESSAGES_FIELD = svc.GetMessagesResponse.DESCRIPTOR.fields_by_name["messages"].number
# A page token's binding is a digest of JSON (~20 us); the same few bindings recur, so they are computed once.
_BINDINGS = 4096


@functools.lru_cache(maxsize=_BINDINGS)
def _list_binding(values: ChatFilterValues) -> str:
    return paging.query_hash("ListChats", binding(values))


@functools.lru_cache(maxsize=_BINDINGS)
def _messages_binding(chat_id: uuid.UUID, newest_first: bool) -> str:
    return paging.query_hash("GetMessages", str(chat_id), newest_first)


def _chat_not_found(chat_id: uuid.UUID) -> NotFound:
    return NotFound(f"chat {chat_id} not found", reason="CHAT_NOT_FOUND")


class ChatReads:
    """Handlers of GetChat, ListChats, GetMessages, GetChatArtifacts and SearchChats."""

    def __init__(self, db: ReadPool, codec: TokenCodec, waiter: ConsistencyWaiter) -> None:
        self._db = db
        self._codec = codec
        self._waiter = waiter

    async def get_chat(self, request: svc.GetChatRequest) -> svc.GetChatResponse:
        """One readable chat, with a checkpoint token of its feed."""
        caller = reconcile(tenant_id=request.tenant_id)
        chat_id = parse_id(request.threads_id, "threads_id")
        await self._waiter.wait(request.consistency_token)
        feed = chat_feed(str(chat_id))
        async with self._db.connection() as conn:
            found = await chats.get_chat(conn, caller, chat_id, feed)
        if found is None:
            raise _chat_not_found(chat_id)
        chat, seq = found
        reply = svc.GetChatResponse(
            checkpoint_token=resume.issue(self._codec, tenant_id=caller.tenant_id, feed=feed, seq=seq)
        )
        fill_chat(reply.threads, chat)
        return reply

    async def list_chats(self, request: svc.ListChatsRequest) -> svc.ListChatsResponse:
        """The caller's visible chats, most recently active first."""
        return svc.ListChatsResponse.FromString(await self.encoded_chats(request))

    async def encoded_chats(self, request: svc.ListChatsRequest) -> bytes:
        """``list_chats``' reply, encoded here: sized by encoding it once, not measured and then encoded by gRPC."""
        caller = reconcile(user_id=request.user_id, tenant_id=request.tenant_id)
        values = chat_filter(request.filter) if request.HasField("filter") else _NO_FILTER
        limit = paging.page_size(request.page_size, paging.CHATS)
        tokens = paging.PageTokens(self._codec, caller, _list_binding(values))
        after = keyset(tokens.position(request.page_token), dt.datetime, uuid.UUID) if request.page_token else None
        if request.consistency_token:
            await self._waiter.wait(request.consistency_token)
        async with self._db.connection() as conn:
            page = await chats.list_chats(conn, caller, values, after=after, limit=limit)
        reply = svc.ListChatsResponse(total_count=page.total)
        fill_listed_chats(reply.threads, page.rows)
        if page.has_more:
            reply.next_page_token = tokens.issue(listed_chat_position(page.rows[-1]))
        encoded = reply.SerializeToString()
        if len(encoded) <= paging.PAGE_BYTES:  # the usual case: every chat fits
            return encoded
        keep = paging.fitting(reply.threads)
        if keep < len(page.rows):
            del reply.threads[keep:]
            reply.next_page_token = tokens.issue(listed_chat_position(page.rows[keep - 1]))
        return reply.SerializeToString()

    async def get_messages(self, request: svc.GetMessagesRequest) -> svc.GetMessagesResponse:
        """A page of a readable chat's messages, with a checkpoint token matching it."""
        return svc.GetMessagesResponse.FromString(await self.encoded_messages(request))

    async def encoded_messages(self, request: svc.GetMessagesRequest) -> bytes:
        """``get_messages``' reply, encoded: the stored messages are spliced in as they are, never decoded.

        A page of 50 messages decoded into the reply and encoded again by gRPC cost about 100 us more server CPU
        than the statement that read them.
        """
        caller = reconcile(tenant_id=request.tenant_id)
        chat_id = parse_id(request.threads_id, "threads_id")
        limit = paging.page_size(request.page_size, paging.MESSAGES)
        tokens = paging.PageTokens(self._codec, caller, _messages_binding(chat_id, request.newest_first))
        after = keyset(tokens.position(request.page_token), int) if request.page_token else None
        if request.consistency_token:
            await self._waiter.wait(request.consistency_token)
        feed = chat_feed(str(chat_id))
        async with self._db.connection() as conn:
            page = await messages.messages_page(
                conn,
                caller,
                chat_id,
                feed,
                after_seq=after[0] if after else None,
                limit=limit,
                newest_first=request.newest_first,
            )
        if page is None:
            raise _chat_not_found(chat_id)
        reply = svc.GetMessagesResponse(
            has_more=page.has_more,
            total_count=page.total,
            checkpoint_token=resume.issue(self._codec, tenant_id=caller.tenant_id, feed=feed, seq=page.feed_seq),
        )
        if page.has_more:
            reply.next_page_token = tokens.issue([page.last_seq])
        return reply.SerializeToString() + wire.repeated(_MESSAGES_FIELD, page.payloads)

    async def get_chat_artifacts(self, request: svc.GetChatArtifactsRequest) -> svc.GetChatArtifactsResponse:
        """Artifacts linked to a readable chat that the caller may read, most recently linked first."""
        caller = reconcile(tenant_id=request.tenant_id)
        chat_id = parse_id(request.threads_id, "threads_id")
        limit = paging.page_size(request.page_size, paging.CHATS)
        tokens = paging.PageTokens(self._codec, caller, paging.query_hash("GetChatArtifacts", str(chat_id)))
        after = keyset(tokens.position(request.page_token), dt.datetime, uuid.UUID)
        await self._waiter.wait(request.consistency_token)
        feed = chat_feed(str(chat_id))
        async with self._db.connection() as conn:
            if await chats.get_chat(conn, caller, chat_id, feed) is None:
                raise _chat_not_found(chat_id)
            page = await chats.chat_artifacts(conn, caller, chat_id, after=after, limit=limit)
        reply = svc.GetChatArtifactsResponse(artifacts=[a.message() for a in page.rows], total_count=page.total)
        if page.has_more:
            last = page.rows[-1]
            reply.next_page_token = tokens.issue(position(last.linked_at, last.artifact_id))
        return reply

    async def search_chats(self, request: svc.SearchChatsRequest) -> svc.SearchChatsResponse:
        """Visible chats matching the query, best first, with a highlighted snippet each."""
        caller = reconcile(user_id=request.user_id, tenant_id=request.tenant_id)
        values = chat_filter(request.filter)
        query = request.query.strip()
        if not query and not values.query:
            raise InvalidArgument(FieldViolation("query", "is required (or filter.query)"))
        if not query:
            # Only filter.query was given: it is the search query.
            query, values = values.query, dataclasses.replace(values, query="")
        limit = paging.page_size(request.page_size, paging.CHATS)
        tokens = paging.PageTokens(self._codec, caller, paging.query_hash("SearchChats", query, binding(values)))
        after = keyset(tokens.position(request.page_token), float, dt.datetime, uuid.UUID)
        await self._waiter.wait(request.consistency_token)
        async with self._db.connection() as conn:
            page = await search.search_chats(conn, caller, query, values, after=after, limit=limit)
            found = await search.snippets(conn, query, values.query, [h.chat.id for h in page.rows])
        reply = svc.SearchChatsResponse(total_count=page.total)
        add = reply.threads.add
        for hit in page.rows:
            fill_chat(add(), hit.chat)
        keep = paging.fitting(reply.threads)
        if keep < len(reply.threads):
            del reply.threads[keep:]
        kept = {hit.chat.id for hit in page.rows[:keep]}
        reply.snippets.update({str(k): v for k, v in found.items() if k in kept})
        if page.has_more or keep < len(page.rows):
            last = page.rows[keep - 1]
            reply.next_page_token = tokens.issue(position(last.rank, last.chat.updated_at, last.chat.id))
        return reply
