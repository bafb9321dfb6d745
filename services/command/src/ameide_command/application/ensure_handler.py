"""EnsureChatForArtifactAndSendMessage, the artifact-first send, as one append transaction.

The artifact is validated from its own stream; the chat is created (or checked and linked); the message and the
idempotency record are written in the same transaction over the chat and artifact streams.
"""

from __future__ import annotations

import dataclasses

from ameide_command.application.context import RequestContext
from ameide_command.application.deps import Deps
from ameide_command.application.executor import Outcome
from ameide_command.application.loading import Aggregates
from ameide_command.application.plan import Plan
from ameide_command.domain import ensure
from ameide_command.domain.commands import EnsureChatForArtifact
from ameide_core_proto.threads.v1 import threads_events_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2 as svc

Response = svc.EnsureChatForArtifactAndSendMessageResponse


class EnsureHandler:
    """The artifact-first send."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def ensure_and_send(self, context: RequestContext, command: EnsureChatForArtifact) -> Outcome[Response]:
        """Send a message about an artifact, creating (and linking) a chat when none is given."""
        command = dataclasses.replace(
            command,
            new_chat_id="" if command.chat_id else self._deps.new_id_str(),
            message_id=self._deps.new_id_str(),
            at=self._deps.clock(),
            idempotency_key=context.idempotency_key,
        )

        def decide(loaded: Aggregates) -> Plan[Response]:
            changes = self._deps.changes(context, command.at)
            decision = ensure.ensure(
                loaded.chat(command.chat_id),
                loaded.artifact(command.artifact_id),
                command,
                context.actor,
                agents=self._deps.agents,
                max_title_chars=self._deps.max_title_chars,
            )
            changes.chat(loaded.chat(decision.chat_id), decision.chat_events)
            changes.artifact(loaded.artifact(command.artifact_id), decision.artifact_events)
            sent = decision.chat_events[-1]
            if not isinstance(sent, threads_events_pb2.MessageSentEvent):  # pragma: no cover - the decider's contract
                raise TypeError("the last chat event of an ensure decision must be the message")
            response = Response(
                threads_id=decision.chat_id,
                persisted_message=sent.message,
                threads_created=decision.created,
                consistency_token=self._deps.token(changes),
            )
            return changes.plan(response)

        chats = [command.chat_id] if command.chat_id else []
        return await self._deps.executor.run(context, decide, Response, chats=chats, artifacts=[command.artifact_id])
