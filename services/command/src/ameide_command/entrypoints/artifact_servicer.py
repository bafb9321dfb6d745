"""ArtifactCommandService: parse -> handler -> reply (the RPC comments in artifacts_service.proto document each)."""

# Servicer methods are documented by their RPC comments in the .proto (conventions.md, 11).
# ruff: noqa: D102

from __future__ import annotations

from typing import Any

import grpc.aio

from ameide_command.application.artifact_handlers import ArtifactHandlers
from ameide_command.entrypoints import artifact_requests as parse
from ameide_command.entrypoints.grpc_context import caller, reply, request_context
from ameide_command.entrypoints.validation import Limits
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as svc
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]
SERVICE = "ameide_core_proto.artifacts.v1.ArtifactCommandService"


class ArtifactCommandServicer(artifacts_service_pb2_grpc.ArtifactCommandServiceServicer):
    """Writes on artifacts."""

    def __init__(self, artifacts: ArtifactHandlers, limits: Limits) -> None:
        self._artifacts = artifacts
        self._limits = limits

    async def CreateArtifact(self, request: svc.CreateArtifactRequest, context: Context) -> svc.CreateArtifactResponse:
        actor = caller(request)
        command = parse.create_artifact(request, self._limits)
        ctx = request_context(
            context, actor, method="CreateArtifact", request=request, idempotency_key=request.idempotency_key
        )
        return reply(context, await self._artifacts.create_artifact(ctx, command))

    async def AssociateChat(
        self, request: svc.AssociateArtifactChatRequest, context: Context
    ) -> svc.AssociateArtifactChatResponse:
        actor = caller(request)
        command = parse.associate_chat(request, self._limits)
        return reply(context, await self._artifacts.associate_chat(request_context(context, actor), command))

    async def DissociateChat(
        self, request: svc.DissociateArtifactChatRequest, context: Context
    ) -> svc.DissociateArtifactChatResponse:
        actor = caller(request)
        command = parse.dissociate_chat(request, self._limits)
        return reply(context, await self._artifacts.dissociate_chat(request_context(context, actor), command))

    async def UpdateArtifactContent(
        self, request: svc.UpdateArtifactContentRequest, context: Context
    ) -> svc.UpdateArtifactContentResponse:
        actor = caller(request)
        command = parse.update_content(request, self._limits)
        return reply(context, await self._artifacts.update_content(request_context(context, actor), command))

    async def UpdateArtifactMetadata(
        self, request: svc.UpdateArtifactMetadataRequest, context: Context
    ) -> svc.UpdateArtifactMetadataResponse:
        actor = caller(request)
        command = parse.update_metadata(request, self._limits)
        return reply(context, await self._artifacts.update_metadata(request_context(context, actor), command))

    async def DeleteArtifact(self, request: svc.DeleteArtifactRequest, context: Context) -> svc.DeleteArtifactResponse:
        actor = caller(request)
        command = parse.delete_artifact(request, self._limits)
        return reply(context, await self._artifacts.delete_artifact(request_context(context, actor), command))
