"""DraftService: the unary calls and the client stream go to ``DraftHandlers``.

Completing needs the caller's credentials (they travel on to the command side), so those methods hand the call
metadata over; a refusal of the command side is answered with its own status (``ERRORS``).
"""

# Servicer methods are documented by their RPC comments in the .proto (conventions.md, 11).
# ruff: noqa: D102, ARG002

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc.aio

from ameide_core_proto.live.v1 import live_service_pb2 as svc
from ameide_core_proto.live.v1 import live_service_pb2_grpc as svc_grpc
from ameide_query.live.completion import CommandRefused, describe_refusal
from ameide_query.live.draft_handlers import DraftHandlers
from ameide_runtime.grpc_errors import ErrorTable

SERVICE = svc.DESCRIPTOR.services_by_name["DraftService"].full_name
ERRORS: ErrorTable = {CommandRefused: describe_refusal}
Context = grpc.aio.ServicerContext[Any, Any]


class DraftServicer(svc_grpc.DraftServiceServicer):
    """Thin adapter from gRPC to the handlers."""

    def __init__(self, handlers: DraftHandlers) -> None:
        self._handlers = handlers

    async def StreamDraft(
        self, request_iterator: AsyncIterator[svc.StreamDraftRequest], context: Context
    ) -> svc.StreamDraftResponse:
        return await self._handlers.stream(request_iterator, tuple(context.invocation_metadata() or ()))

    async def StartDraft(self, request: svc.StartDraftRequest, context: Context) -> svc.StartDraftResponse:
        return await self._handlers.start(request)

    async def AppendDraft(self, request: svc.AppendDraftRequest, context: Context) -> svc.AppendDraftResponse:
        return await self._handlers.append(request)

    async def CompleteDraft(self, request: svc.CompleteDraftRequest, context: Context) -> svc.CompleteDraftResponse:
        return await self._handlers.complete(request, tuple(context.invocation_metadata() or ()))

    async def AbandonDraft(self, request: svc.AbandonDraftRequest, context: Context) -> svc.AbandonDraftResponse:
        return await self._handlers.abandon(request)
