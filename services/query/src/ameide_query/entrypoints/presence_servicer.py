"""PresenceService: announce, leave and list go to ``PresenceHandlers``."""

# Servicer methods are documented by their RPC comments in the .proto (conventions.md, 11).
# ruff: noqa: D102, ARG002

from __future__ import annotations

from typing import Any

import grpc.aio

from ameide_core_proto.live.v1 import live_service_pb2 as svc
from ameide_core_proto.live.v1 import live_service_pb2_grpc as svc_grpc
from ameide_query.live.presence_handlers import PresenceHandlers

SERVICE = svc.DESCRIPTOR.services_by_name["PresenceService"].full_name
Context = grpc.aio.ServicerContext[Any, Any]


class PresenceServicer(svc_grpc.PresenceServiceServicer):
    """Thin adapter from gRPC to the handlers."""

    def __init__(self, handlers: PresenceHandlers) -> None:
        self._handlers = handlers

    async def AnnouncePresence(
        self, request: svc.AnnouncePresenceRequest, context: Context
    ) -> svc.AnnouncePresenceResponse:
        return await self._handlers.announce(request)

    async def LeavePresence(self, request: svc.LeavePresenceRequest, context: Context) -> svc.LeavePresenceResponse:
        return await self._handlers.leave(request)

    async def ListPresence(self, request: svc.ListPresenceRequest, context: Context) -> svc.ListPresenceResponse:
        return await self._handlers.list(request)
