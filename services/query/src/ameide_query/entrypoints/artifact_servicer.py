"""ArtifactQueryService: unary reads go to ``ArtifactReads``, live streams to ``LiveUpdates``."""

# Servicer methods are documented by their RPC comments in the .proto (conventions.md, 11); unary reads need no
# context (errors are raised and mapped by the runtime's interceptor).
# ruff: noqa: D102, ARG002

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc.aio

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as svc
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc as svc_grpc
from ameide_query.reads.artifacts import ArtifactReads
from ameide_query.streams import LiveUpdates

SERVICE = svc.DESCRIPTOR.services_by_name["ArtifactQueryService"].full_name
Context = grpc.aio.ServicerContext[Any, Any]


class ArtifactQueryServicer(svc_grpc.ArtifactQueryServiceServicer):
    """Thin adapter from gRPC to the handlers."""

    def __init__(self, reads: ArtifactReads, live: LiveUpdates) -> None:
        self._reads = reads
        self._live = live

    async def GetArtifact(self, request: svc.GetArtifactRequest, context: Context) -> svc.GetArtifactResponse:
        return await self._reads.get_artifact(request)

    async def ListArtifacts(self, request: svc.ListArtifactsRequest, context: Context) -> svc.ListArtifactsResponse:
        return await self._reads.list_artifacts(request)

    async def GetArtifactChats(
        self, request: svc.GetArtifactChatsRequest, context: Context
    ) -> svc.GetArtifactChatsResponse:
        return await self._reads.get_artifact_chats(request)

    async def GetArtifactHistory(
        self, request: svc.GetArtifactHistoryRequest, context: Context
    ) -> svc.GetArtifactHistoryResponse:
        return await self._reads.get_artifact_history(request)

    async def StreamArtifactUpdates(
        self, request: svc.StreamArtifactRequest, context: Context
    ) -> AsyncIterator[svc.ArtifactUpdate]:
        async for update in self._live.artifact_updates(request, context):
            yield update
