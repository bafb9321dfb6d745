"""Handlers of ArtifactCommandService."""

from __future__ import annotations

import dataclasses

from ameide_command.application.context import RequestContext
from ameide_command.application.deps import Deps
from ameide_command.application.executor import Outcome
from ameide_command.application.loading import Aggregates
from ameide_command.application.plan import Plan
from ameide_command.application.views import chat_reference
from ameide_command.domain import access, artifact, links
from ameide_command.domain.commands import (
    CreateArtifact,
    DeleteArtifact,
    LinkChatArtifact,
    UnlinkChatArtifact,
    UpdateArtifactContent,
    UpdateArtifactMetadata,
)
from ameide_command.domain.model import CREATED, MODIFIED
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as svc


class ArtifactHandlers:
    """One method per artifact command."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def create_artifact(
        self, context: RequestContext, command: CreateArtifact
    ) -> Outcome[svc.CreateArtifactResponse]:
        """Create an artifact; with a primary chat also link it (CREATED) on both streams."""
        command = dataclasses.replace(command, artifact_id=self._deps.new_id_str())
        at = self._deps.clock()
        actor = context.actor

        def decide(loaded: Aggregates) -> Plan[svc.CreateArtifactResponse]:
            changes = self._deps.changes(context, at)
            origin = None
            if command.primary_chat_id:
                origin = access.writable_chat(loaded.chat(command.primary_chat_id), actor, command.primary_chat_id)
            created = changes.artifact(None, [artifact.create(command, actor)])
            if origin is not None:
                linked = links.link_checked(
                    origin, created, LinkChatArtifact(origin.chat_id, created.artifact_id, CREATED)
                )
                changes.chat(origin, linked.chat_events)
                created = changes.artifact(created, linked.artifact_events)
            response = svc.CreateArtifactResponse(
                artifact_id=created.artifact_id,
                version=created.content_version,
                consistency_token=self._deps.token(changes),
            )
            return changes.plan(response)

        chats = [command.primary_chat_id] if command.primary_chat_id else []
        return await self._deps.executor.run(context, decide, svc.CreateArtifactResponse, chats=chats)

    async def associate_chat(
        self, context: RequestContext, command: LinkChatArtifact
    ) -> Outcome[svc.AssociateArtifactChatResponse]:
        """Link a chat the caller may read to the artifact; an existing link is returned unchanged."""
        at = self._deps.clock()

        def decide(loaded: Aggregates) -> Plan[svc.AssociateArtifactChatResponse]:
            changes = self._deps.changes(context, at)
            chat_before = loaded.chat(command.chat_id)
            artifact_before = loaded.artifact(command.artifact_id)
            decision = links.link(chat_before, artifact_before, command, context.actor)
            chat_after = changes.chat(chat_before, decision.chat_events)
            changes.artifact(artifact_before, decision.artifact_events)
            # Both sides hold the same relation (written together); the chat's side is the one kept in state.
            reference = chat_reference(chat_after, chat_after.artifacts[command.artifact_id])
            token = self._deps.token(changes)
            response = svc.AssociateArtifactChatResponse(threads_reference=reference, consistency_token=token)
            return changes.plan(response)

        return await self._deps.executor.run(
            context, decide, svc.AssociateArtifactChatResponse, chats=[command.chat_id], artifacts=[command.artifact_id]
        )

    async def dissociate_chat(
        self, context: RequestContext, command: UnlinkChatArtifact
    ) -> Outcome[svc.DissociateArtifactChatResponse]:
        """Remove a link from both streams."""
        at = self._deps.clock()

        def decide(loaded: Aggregates) -> Plan[svc.DissociateArtifactChatResponse]:
            changes = self._deps.changes(context, at)
            chat_before = loaded.chat(command.chat_id)
            artifact_before = loaded.artifact(command.artifact_id)
            decision = links.unlink(chat_before, artifact_before, command, context.actor)
            changes.chat(chat_before, decision.chat_events)
            changes.artifact(artifact_before, decision.artifact_events)
            response = svc.DissociateArtifactChatResponse(success=True, consistency_token=self._deps.token(changes))
            return changes.plan(response)

        return await self._deps.executor.run(
            context,
            decide,
            svc.DissociateArtifactChatResponse,
            chats=[command.chat_id],
            artifacts=[command.artifact_id],
        )

    async def update_content(
        self, context: RequestContext, command: UpdateArtifactContent
    ) -> Outcome[svc.UpdateArtifactContentResponse]:
        """Store a new content version; a chat it came from is linked (MODIFIED) unless already linked."""
        at = self._deps.clock()
        actor = context.actor

        def decide(loaded: Aggregates) -> Plan[svc.UpdateArtifactContentResponse]:
            changes = self._deps.changes(context, at)
            before = loaded.artifact(command.artifact_id)
            origin = None
            if command.chat_id:
                origin = access.readable_chat(loaded.chat(command.chat_id), actor, command.chat_id)
            after = changes.artifact(before, artifact.update_content(before, command, actor))
            if origin is not None:
                linked = links.link_checked(
                    origin, after, LinkChatArtifact(origin.chat_id, after.artifact_id, MODIFIED)
                )
                changes.chat(origin, linked.chat_events)
                after = changes.artifact(after, linked.artifact_events)
            token = self._deps.token(changes)
            response = svc.UpdateArtifactContentResponse(
                artifact_id=after.artifact_id, version=after.content_version, consistency_token=token
            )
            return changes.plan(response)

        chats = [command.chat_id] if command.chat_id else []
        return await self._deps.executor.run(
            context, decide, svc.UpdateArtifactContentResponse, chats=chats, artifacts=[command.artifact_id]
        )

    async def update_metadata(
        self, context: RequestContext, command: UpdateArtifactMetadata
    ) -> Outcome[svc.UpdateArtifactMetadataResponse]:
        """Change title and/or labels as a new version."""
        at = self._deps.clock()

        def decide(loaded: Aggregates) -> Plan[svc.UpdateArtifactMetadataResponse]:
            changes = self._deps.changes(context, at)
            before = loaded.artifact(command.artifact_id)
            after = changes.artifact(before, artifact.update_metadata(before, command, context.actor))
            token = self._deps.token(changes)
            response = svc.UpdateArtifactMetadataResponse(
                artifact_id=after.artifact_id, version=after.content_version, consistency_token=token
            )
            return changes.plan(response)

        return await self._deps.executor.run(
            context, decide, svc.UpdateArtifactMetadataResponse, artifacts=[command.artifact_id]
        )

    async def delete_artifact(
        self, context: RequestContext, command: DeleteArtifact
    ) -> Outcome[svc.DeleteArtifactResponse]:
        """Soft-delete an artifact (owner only)."""
        at = self._deps.clock()

        def decide(loaded: Aggregates) -> Plan[svc.DeleteArtifactResponse]:
            changes = self._deps.changes(context, at)
            before = loaded.artifact(command.artifact_id)
            changes.artifact(before, artifact.delete(before, command, context.actor))
            response = svc.DeleteArtifactResponse(success=True, consistency_token=self._deps.token(changes))
            return changes.plan(response)

        return await self._deps.executor.run(
            context, decide, svc.DeleteArtifactResponse, artifacts=[command.artifact_id]
        )
