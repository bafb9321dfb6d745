"""ChatQueryService: unary reads go to ``ChatReads``, live streams to ``LiveUpdates``."""

# Servicer methods are documented by their RPC comments in the .proto (conventions.md, 11); unary reads need no
# context (errors are raised and mapped by the runtime's interceptor).
# ruff: noqa: D102, ARG002

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc.aio

from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc as svc_grpc
from ameide_query.reads.chats import ChatReads
from ameide_query.streams import LiveUpdates

SERVICE = svc.DESCRIPTOR.services_by_name["ChatQueryService"].full_name
Context = grpc.aio.ServicerContext[Any, Any]


class ChatQueryServicer(svc_grpc.ChatQueryServiceServicer):
    """Thin adapter from gRPC to the handlers."""

    def __init__(self, reads: ChatReads, live: LiveUpdates) -> None:
        self._reads = reads
        self._live = live

    async def GetChat(self, request: svc.GetChatRequest, context: Context) -> svc.GetChatResponse:
        return await self._reads.get_chat(request)

    # These two replies go out encoded (see ChatReads.encoded_chats and encoded_messages); the server's response
    # serializer sends bytes as they are (ameide_runtime.grpc_wrap.encoded_replies).
    async def ListChats(self, request: svc.ListChatsRequest, context: Context) -> bytes:  # type: ignore[override]
        return await self._reads.encoded_chats(request)

    async def GetMessages(self, request: svc.GetMessagesRequest, context: Context) -> bytes:  # type: ignore[override]
        return await self._reads.encoded_messages(request)

    async def GetChatArtifacts(
        self, request: svc.GetChatArtifactsRequest, context: Context
    ) -> svc.GetChatArtifactsResponse:
        return await self._reads.get_chat_artifacts(request)

    async def SearchChats(self, request: svc.SearchChatsRequest, context: Context) -> svc.SearchChatsResponse:
        return await self._reads.search_chats(request)

    async def StreamChatUpdates(
        self, request: svc.StreamChatRequest, context: Context
    ) -> AsyncIterator[svc.ChatUpdate]:
        async for update in self._live.chat_updates(request, context):
            yield update
