"""Handlers of ChatCommandService (except the artifact-first send, in ``ensure_handler``)."""

from __future__ import annotations

import dataclasses

from ameide_command.application.context import RequestContext
from ameide_command.application.deps import Deps
from ameide_command.application.executor import Outcome
from ameide_command.application.loading import Aggregates
from ameide_command.application.plan import Plan
from ameide_command.application.views import chat_view, relation_view
from ameide_command.domain import access, chat, links
from ameide_command.domain.commands import (
    ChangeVisibility,
    DeleteChat,
    LinkChatArtifact,
    RenameChat,
    SendMessage,
    StartChat,
)
from ameide_command.domain.model import CREATED
from ameide_core_proto.threads.v1 import threads_service_pb2 as svc


class ChatHandlers:
    """One method per chat command."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def create_chat(self, context: RequestContext, command: StartChat) -> Outcome[svc.CreateChatResponse]:
        """Create a chat; with ``artifact_id`` also link it (CREATED) on both streams."""
        command = dataclasses.replace(command, chat_id=self._deps.new_id_str())
        at = self._deps.clock()
        actor = context.actor

        def decide(loaded: Aggregates) -> Plan[svc.CreateChatResponse]:
            changes = self._deps.changes(context, at)
            start = command
            source = None
            if command.artifact_id:
                source = access.tenant_artifact(loaded.artifact(command.artifact_id), actor, command.artifact_id)
            if not start.agent_id:
                agent = self._deps.agents.for_kind(source.kind) if source else self._deps.agents.default
                start = dataclasses.replace(start, agent_id=agent)
            created = changes.chat(None, [chat.start(start, actor)])
            if source is not None:
                linked = links.link_checked(
                    created, source, LinkChatArtifact(created.chat_id, source.artifact_id, CREATED)
                )
                created = changes.chat(created, linked.chat_events)
                changes.artifact(source, linked.artifact_events)
            response = svc.CreateChatResponse(threads=chat_view(created), consistency_token=self._deps.token(changes))
            return changes.plan(response)

        artifacts = [command.artifact_id] if command.artifact_id else []
        return await self._deps.executor.run(context, decide, svc.CreateChatResponse, artifacts=artifacts)

    async def send_message(self, context: RequestContext, command: SendMessage) -> Outcome[svc.SendMessageResponse]:
        """Append a message to a chat the caller may write."""
        # Built whole rather than ``dataclasses.replace``d: this runs on every send.
        command = SendMessage(
            chat_id=command.chat_id,
            message=command.message,
            idempotency_key=context.idempotency_key,
            message_id=self._deps.new_id_str(),
            at=self._deps.clock(),
        )

        def decide(loaded: Aggregates) -> Plan[svc.SendMessageResponse]:
            changes = self._deps.changes(context, command.at)
            before = loaded.chat(command.chat_id)
            event = chat.send_message(before, command, context.actor)
            changes.chat(before, [event])
            response = svc.SendMessageResponse(message=event.message, consistency_token=self._deps.token(changes))
            return changes.plan(response)

        return await self._deps.executor.run(context, decide, svc.SendMessageResponse, chats=[command.chat_id])

    async def update_title(self, context: RequestContext, command: RenameChat) -> Outcome[svc.UpdateChatTitleResponse]:
        """Rename a chat (owner only)."""
        at = self._deps.clock()

        def decide(loaded: Aggregates) -> Plan[svc.UpdateChatTitleResponse]:
            changes = self._deps.changes(context, at)
            before = loaded.chat(command.chat_id)
            after = changes.chat(before, chat.rename(before, command, context.actor))
            response = svc.UpdateChatTitleResponse(
                threads=chat_view(after), consistency_token=self._deps.token(changes)
            )
            return changes.plan(response)

        return await self._deps.executor.run(context, decide, svc.UpdateChatTitleResponse, chats=[command.chat_id])

    async def update_visibility(
        self, context: RequestContext, command: ChangeVisibility
    ) -> Outcome[svc.UpdateChatVisibilityResponse]:
        """Change a chat's visibility (owner only)."""
        at = self._deps.clock()

        def decide(loaded: Aggregates) -> Plan[svc.UpdateChatVisibilityResponse]:
            changes = self._deps.changes(context, at)
            before = loaded.chat(command.chat_id)
            after = changes.chat(before, chat.change_visibility(before, command, context.actor))
            token = self._deps.token(changes)
            return changes.plan(svc.UpdateChatVisibilityResponse(threads=chat_view(after), consistency_token=token))

        return await self._deps.executor.run(context, decide, svc.UpdateChatVisibilityResponse, chats=[command.chat_id])

    async def delete_chat(self, context: RequestContext, command: DeleteChat) -> Outcome[svc.DeleteChatResponse]:
        """Soft-delete a chat (owner only)."""
        at = self._deps.clock()

        def decide(loaded: Aggregates) -> Plan[svc.DeleteChatResponse]:
            changes = self._deps.changes(context, at)
            before = loaded.chat(command.chat_id)
            changes.chat(before, chat.delete(before, command, context.actor))
            response = svc.DeleteChatResponse(success=True, consistency_token=self._deps.token(changes))
            return changes.plan(response)

        return await self._deps.executor.run(context, decide, svc.DeleteChatResponse, chats=[command.chat_id])

    async def associate_artifact(
        self, context: RequestContext, command: LinkChatArtifact
    ) -> Outcome[svc.AssociateChatArtifactResponse]:
        """Link a chat and an artifact on both streams; an existing link is returned unchanged."""
        at = self._deps.clock()

        def decide(loaded: Aggregates) -> Plan[svc.AssociateChatArtifactResponse]:
            changes = self._deps.changes(context, at)
            chat_before = loaded.chat(command.chat_id)
            artifact_before = loaded.artifact(command.artifact_id)
            decision = links.link(chat_before, artifact_before, command, context.actor)
            chat_after = changes.chat(chat_before, decision.chat_events)
            changes.artifact(artifact_before, decision.artifact_events)
            relation = relation_view(chat_after.chat_id, command.artifact_id, chat_after.artifacts[command.artifact_id])
            token = self._deps.token(changes)
            return changes.plan(svc.AssociateChatArtifactResponse(relation=relation, consistency_token=token))

        return await self._deps.executor.run(
            context,
            decide,
            svc.AssociateChatArtifactResponse,
            chats=[command.chat_id],
            artifacts=[command.artifact_id],
        )
