"""ChatCommandService: parse -> handler -> reply (the RPC comments in threads_service.proto document each)."""

# Servicer methods are documented by their RPC comments in the .proto (conventions.md, 11).
# ruff: noqa: D102

from __future__ import annotations

from typing import Any

import grpc.aio

from ameide_command.application.chat_handlers import ChatHandlers
from ameide_command.application.ensure_handler import EnsureHandler
from ameide_command.entrypoints import chat_requests as parse
from ameide_command.entrypoints.grpc_context import caller, reply, request_context
from ameide_command.entrypoints.validation import Limits
from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]
SERVICE = "ameide_core_proto.threads.v1.ChatCommandService"


class ChatCommandServicer(threads_service_pb2_grpc.ChatCommandServiceServicer):
    """Writes on chats."""

    def __init__(self, chats: ChatHandlers, ensure: EnsureHandler, limits: Limits) -> None:
        self._chats = chats
        self._ensure = ensure
        self._limits = limits

    async def EnsureChatForArtifactAndSendMessage(
        self, request: svc.EnsureChatForArtifactAndSendMessageRequest, context: Context
    ) -> svc.EnsureChatForArtifactAndSendMessageResponse:
        actor = caller(request)
        command = parse.ensure_chat(request, self._limits)
        ctx = request_context(context, actor, method="Ensure", request=request, idempotency_key=request.idempotency_key)
        return reply(context, await self._ensure.ensure_and_send(ctx, command))

    async def CreateChat(self, request: svc.CreateChatRequest, context: Context) -> svc.CreateChatResponse:
        actor = caller(request)
        command = parse.create_chat(request, self._limits)
        ctx = request_context(
            context, actor, method="CreateChat", request=request, idempotency_key=request.idempotency_key
        )
        return reply(context, await self._chats.create_chat(ctx, command))

    async def SendMessage(self, request: svc.SendMessageRequest, context: Context) -> svc.SendMessageResponse:
        actor = caller(request)
        command = parse.send_message(request, self._limits)
        ctx = request_context(
            context, actor, method="SendMessage", request=request, idempotency_key=request.idempotency_key
        )
        return reply(context, await self._chats.send_message(ctx, command))

    async def UpdateChatTitle(
        self, request: svc.UpdateChatTitleRequest, context: Context
    ) -> svc.UpdateChatTitleResponse:
        actor = caller(request)
        command = parse.update_title(request, self._limits)
        return reply(context, await self._chats.update_title(request_context(context, actor), command))

    async def DeleteChat(self, request: svc.DeleteChatRequest, context: Context) -> svc.DeleteChatResponse:
        actor = caller(request)
        command = parse.delete_chat(request, self._limits)
        return reply(context, await self._chats.delete_chat(request_context(context, actor), command))

    async def AssociateArtifact(
        self, request: svc.AssociateChatArtifactRequest, context: Context
    ) -> svc.AssociateChatArtifactResponse:
        actor = caller(request)
        command = parse.associate_artifact(request, self._limits)
        return reply(context, await self._chats.associate_artifact(request_context(context, actor), command))

    async def UpdateVisibility(
        self, request: svc.UpdateChatVisibilityRequest, context: Context
    ) -> svc.UpdateChatVisibilityResponse:
        actor = caller(request)
        command = parse.update_visibility(request, self._limits)
        return reply(context, await self._chats.update_visibility(request_context(context, actor), command))
