"""The backend as another client sees it: seeding and checking state through the services' real gRPC ports.

The acceptance suite drives the app only through its URLs and ``data-testid`` hooks; what the app did to the data
is checked here, with the generated stubs, as one user of one tenant. Reads that follow the app's writes first
take a *barrier*: a write that changes nothing (the artifact's or chat's current title again) still answers with a
consistency token naming the stream's current version, so the read that passes it sees every earlier write to
that stream, a duplicate included, without polling.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

import grpc
from google.protobuf import field_mask_pb2

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as artifacts_svc
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc as artifacts_grpc
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as artifacts_types
from ameide_core_proto.live.v1 import live_service_pb2 as live_svc
from ameide_core_proto.live.v1 import live_service_pb2_grpc as live_grpc
from ameide_core_proto.live.v1 import live_types_pb2 as live_types
from ameide_core_proto.threads.v1 import threads_service_pb2 as threads_svc
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc as threads_grpc
from ameide_core_proto.threads.v1 import threads_types_pb2 as threads_types
from tests.support.stack import Stack

PAGE_SIZE = 100
TEXT = "text/plain"
BPMN = "application/bpmn+xml"
CREATED = threads_types.RELATION_TYPE_CREATED
PRIVATE = threads_types.CHAT_VISIBILITY_PRIVATE
TEAM = threads_types.CHAT_VISIBILITY_TEAM
PUBLIC = threads_types.CHAT_VISIBILITY_PUBLIC
VIEWING = live_types.PRESENCE_STATE_VIEWING
TYPING = live_types.PRESENCE_STATE_TYPING
LEFT = live_types.PresenceChange.KIND_LEFT


class _Page(Protocol):
    @property
    def next_page_token(self) -> str: ...


class _PageRequest(Protocol):
    page_token: str


P = TypeVar("P", bound=_Page)
R = TypeVar("R", bound=_PageRequest)


def text_message(text: str) -> threads_types.ChatMessageInput:
    """A user message of one text part."""
    return threads_types.ChatMessageInput(
        role="user", parts=[threads_types.MessagePart(text=threads_types.TextPart(text=text))]
    )


def message_text(message: threads_types.ChatMessage) -> str:
    """The text parts of a message, joined."""
    return "".join(part.text.text for part in message.parts if part.HasField("text"))


def bpmn_diagram(task: str) -> bytes:
    """A one-task BPMN diagram with its layout (what a modeller saves), the task named ``task``."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Process_1" isExecutable="false">
    <bpmn:startEvent id="Start_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:task id="Task_1" name="{task}"><bpmn:incoming>Flow_1</bpmn:incoming></bpmn:task>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start_1" targetRef="Task_1" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_1">
    <bpmndi:BPMNPlane id="Plane_1" bpmnElement="Process_1">
      <bpmndi:BPMNShape id="Start_1_di" bpmnElement="Start_1"><dc:Bounds x="152" y="82" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Task_1_di" bpmnElement="Task_1"><dc:Bounds x="240" y="60" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Flow_1_di" bpmnElement="Flow_1">
        <di:waypoint x="188" y="100" /><di:waypoint x="240" y="100" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
""".encode()


class Backend:
    """One user of one tenant, talking to the command and query services directly."""

    def __init__(self, stack: Stack, user: str, tenant: str) -> None:
        self.user, self.tenant = user, tenant
        self._stack = stack
        self._command = grpc.insecure_channel(stack.command_target)
        self._query = grpc.insecure_channel(stack.query_target)
        self.chat_commands = threads_grpc.ChatCommandServiceStub(self._command)
        self.chat_queries = threads_grpc.ChatQueryServiceStub(self._query)
        self.artifact_commands = artifacts_grpc.ArtifactCommandServiceStub(self._command)
        self.artifact_queries = artifacts_grpc.ArtifactQueryServiceStub(self._query)
        self.presence = live_grpc.PresenceServiceStub(self._query)
        self.drafts = live_grpc.DraftServiceStub(self._query)
        # The consistency token of this client's last write to each chat or artifact: its own reads wait for it.
        self._written: dict[str, str] = {}

    def written(self, resource_id: str) -> str:
        """The consistency token of this client's last write to a chat or artifact ("" when none)."""
        return self._written.get(resource_id, "")

    def _wrote(self, token: str, *ids: str) -> str:
        for written in ids:
            if written:
                self._written[written] = token
        return token

    @property
    def auth(self) -> tuple[tuple[str, str], ...]:
        """Call metadata of this user (a fresh token per call: a long test outlives none)."""
        return self._stack.metadata(self.user, self.tenant)

    def close(self) -> None:
        """Close both channels."""
        self._command.close()
        self._query.close()

    # Writes -------------------------------------------------------------------------------------------------

    def create_artifact(self, title: str, *, kind: str = "text", body: bytes = b"", mime: str = TEXT) -> str:
        """A new artifact's id (version 1, with ``body`` as its content)."""
        request = artifacts_svc.CreateArtifactRequest(
            title=title, kind=kind, content=artifacts_types.ArtifactContent(mime_type=mime, body=body)
        )
        reply = self.artifact_commands.CreateArtifact(request, metadata=self.auth)
        self._wrote(reply.consistency_token, reply.artifact_id)
        return str(reply.artifact_id)

    def create_chat(self, title: str, *, artifact_id: str = "", visibility: int = PRIVATE) -> str:
        """A new chat's id (linked to ``artifact_id`` as CREATED when given)."""
        request = threads_svc.CreateChatRequest(
            title=title,
            artifact_id=artifact_id,
            visibility=visibility,  # type: ignore[arg-type]
        )
        reply = self.chat_commands.CreateChat(request, metadata=self.auth)
        self._wrote(reply.consistency_token, reply.threads.id, artifact_id)
        return str(reply.threads.id)

    def send(self, chat_id: str, text: str) -> str:
        """Append a user message; its id."""
        request = threads_svc.SendMessageRequest(threads_id=chat_id, message=text_message(text))
        reply = self.chat_commands.SendMessage(request, metadata=self.auth)
        self._wrote(reply.consistency_token, chat_id)
        return str(reply.message.id)

    def ensure(self, artifact_id: str, text: str, chat_id: str = "") -> str:
        """The atomic send about an artifact (a new chat when ``chat_id`` is empty); the chat's id."""
        request = threads_svc.EnsureChatForArtifactAndSendMessageRequest(
            artifact_id=artifact_id, threads_id=chat_id, message=text_message(text), idempotency_key=new_key()
        )
        reply = self.chat_commands.EnsureChatForArtifactAndSendMessage(request, metadata=self.auth)
        self._wrote(reply.consistency_token, reply.threads_id, artifact_id)
        return str(reply.threads_id)

    def link(self, chat_id: str, artifact_id: str) -> None:
        """Link a chat and an artifact (REFERENCED)."""
        request = threads_svc.AssociateChatArtifactRequest(threads_id=chat_id, artifact_id=artifact_id)
        reply = self.chat_commands.AssociateArtifact(request, metadata=self.auth)
        self._wrote(reply.consistency_token, chat_id, artifact_id)

    def update_content(self, artifact_id: str, body: bytes, mime: str = TEXT) -> int:
        """Store a new content version; the artifact's version after it."""
        request = artifacts_svc.UpdateArtifactContentRequest(
            artifact_id=artifact_id, content=artifacts_types.ArtifactContent(mime_type=mime, body=body)
        )
        reply = self.artifact_commands.UpdateArtifactContent(request, metadata=self.auth)
        self._wrote(reply.consistency_token, artifact_id)
        return int(reply.version)

    def rename_artifact(self, artifact_id: str, title: str) -> str:
        """Set the artifact's title; the consistency token of the change."""
        request = artifacts_svc.UpdateArtifactMetadataRequest(
            artifact_id=artifact_id,
            metadata=artifacts_types.ArtifactMetadata(title=title),
            update_mask=field_mask_pb2.FieldMask(paths=["title"]),
        )
        reply = self.artifact_commands.UpdateArtifactMetadata(request, metadata=self.auth)
        return self._wrote(reply.consistency_token, artifact_id)

    def rename_chat(self, chat_id: str, title: str) -> str:
        """Set the chat's title; the consistency token of the change."""
        request = threads_svc.UpdateChatTitleRequest(threads_id=chat_id, title=title)
        reply = self.chat_commands.UpdateChatTitle(request, metadata=self.auth)
        return self._wrote(reply.consistency_token, chat_id)

    def delete_chat(self, chat_id: str) -> None:
        """Soft-delete a chat."""
        reply = self.chat_commands.DeleteChat(threads_svc.DeleteChatRequest(threads_id=chat_id), metadata=self.auth)
        self._wrote(reply.consistency_token, chat_id)

    # Live signals (the query deployable) ----------------------------------------------------------------------

    def announce(self, chat_id: str, client_id: str, state: int = VIEWING, display_name: str = "") -> None:
        """Announce one client of this user on a chat (as a tab's heartbeat does)."""
        request = live_svc.AnnouncePresenceRequest(
            threads_id=chat_id,
            client_id=client_id,
            state=state,  # type: ignore[arg-type]
            display_name=display_name,
            consistency_token=self.written(chat_id),
        )
        self.presence.AnnouncePresence(request, metadata=self.auth)

    def leave(self, chat_id: str, client_id: str) -> None:
        """That client leaves the chat."""
        request = live_svc.LeavePresenceRequest(threads_id=chat_id, client_id=client_id)
        self.presence.LeavePresence(request, metadata=self.auth)

    def start_draft(self, chat_id: str, agent_id: str = "helper") -> str:
        """Open a draft assistant message in a chat (with this user's credentials, as an agent acting for them)."""
        draft_id = new_key()
        request = live_svc.StartDraftRequest(
            draft_id=draft_id, threads_id=chat_id, agent_id=agent_id, consistency_token=self.written(chat_id)
        )
        self.drafts.StartDraft(request, metadata=self.auth)
        return draft_id

    def append_draft(self, draft_id: str, seq: int, text: str) -> None:
        """Delta number ``seq`` (from 1) of the draft."""
        request = live_svc.AppendDraftRequest(draft_id=draft_id, seq=seq, text=text)
        self.drafts.AppendDraft(request, metadata=self.auth)

    def complete_draft(self, draft_id: str) -> str:
        """The draft becomes the chat's assistant message; its id."""
        reply = self.drafts.CompleteDraft(live_svc.CompleteDraftRequest(draft_id=draft_id), metadata=self.auth)
        return str(reply.message_id)

    # Reads after the app's writes ---------------------------------------------------------------------------

    def artifact(self, artifact_id: str, consistency_token: str = "") -> artifacts_types.ArtifactView:
        """The artifact with its content (this client's last write to it included)."""
        token = consistency_token or self._written.get(artifact_id, "")
        request = artifacts_svc.GetArtifactRequest(artifact_id=artifact_id, consistency_token=token)
        return self.artifact_queries.GetArtifact(request, metadata=self.auth).artifact

    def chat(self, chat_id: str, consistency_token: str = "") -> threads_types.Chat:
        """The chat (this client's last write to it included)."""
        token = consistency_token or self._written.get(chat_id, "")
        request = threads_svc.GetChatRequest(threads_id=chat_id, consistency_token=token)
        return self.chat_queries.GetChat(request, metadata=self.auth).threads

    def artifact_barrier(self, artifact_id: str) -> str:
        """A token naming the artifact's stream as it is now (its title set to itself writes nothing)."""
        return self.rename_artifact(artifact_id, self.artifact(artifact_id).title)

    def chat_barrier(self, chat_id: str) -> str:
        """A token naming the chat's stream as it is now (its title set to itself writes nothing)."""
        return self.rename_chat(chat_id, self.chat(chat_id).title)

    def _pages(self, rpc: Callable[..., P], request: R) -> Iterator[P]:
        """Every page ``rpc`` answers to ``request``, following the page tokens."""
        while True:
            page = rpc(request, metadata=self.auth)
            yield page
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    def artifact_chats(self, artifact_id: str) -> list[artifacts_types.ChatReference]:
        """Every chat linked to the artifact, every write to it so far included."""
        request = artifacts_svc.GetArtifactChatsRequest(
            artifact_id=artifact_id, page_size=PAGE_SIZE, consistency_token=self.artifact_barrier(artifact_id)
        )
        return [chat for page in self._pages(self.artifact_queries.GetArtifactChats, request) for chat in page.threads]

    def messages(self, chat_id: str) -> list[threads_types.ChatMessage]:
        """Every message of the chat, oldest first, every write to it so far included."""
        request = threads_svc.GetMessagesRequest(
            threads_id=chat_id, page_size=PAGE_SIZE * 2, consistency_token=self.chat_barrier(chat_id)
        )
        return [message for page in self._pages(self.chat_queries.GetMessages, request) for message in page.messages]

    def chat_artifacts(self, chat_id: str) -> list[threads_types.ArtifactReference]:
        """Every artifact linked to the chat, every write to it so far included."""
        request = threads_svc.GetChatArtifactsRequest(
            threads_id=chat_id, page_size=PAGE_SIZE, consistency_token=self.chat_barrier(chat_id)
        )
        pages = self._pages(self.chat_queries.GetChatArtifacts, request)
        return [artifact for page in pages for artifact in page.artifacts]

    def chats(self, consistency_token: str = "") -> list[threads_types.Chat]:
        """Every chat this user sees in the tenant."""
        request = threads_svc.ListChatsRequest(page_size=PAGE_SIZE, consistency_token=consistency_token)
        return [chat for page in self._pages(self.chat_queries.ListChats, request) for chat in page.threads]


class PresenceWatch:
    """A chat's presence changes as a subscriber of this user's tenant receives them, from a thread of its own.

    ``wait_for(kind, user)`` returns the first ``PresenceChange`` of that kind for that user (waiting on a condition,
    bounded); ``close()`` ends the stream.
    """

    def __init__(self, backend: Backend, chat_id: str) -> None:
        # Once this user's last write to the chat is visible: a chat just created is found.
        request = threads_svc.StreamChatRequest(
            threads_id=chat_id, include_signals=True, consistency_token=backend.written(chat_id)
        )
        self._stream = backend.chat_queries.StreamChatUpdates(request, metadata=backend.auth)
        self._changes: list[live_types.PresenceChange] = []
        self._snapshot = False
        self._failure: grpc.RpcError | None = None
        self._arrived = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="presence-watch", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for update in self._stream:
                with self._arrived:
                    if update.HasField("presence_changed"):
                        self._changes.append(update.presence_changed)
                    self._snapshot = self._snapshot or update.HasField("presence_snapshot")
                    self._arrived.notify_all()
        except grpc.RpcError as error:
            with self._arrived:
                self._failure = error  # cancelled by close(), or refused
                self._arrived.notify_all()

    def wait_started(self, timeout: float = 20.0) -> None:
        """Until the stream's signals have started (its snapshot arrived): later changes are all seen."""
        with self._arrived:
            self._arrived.wait_for(lambda: self._snapshot or self._failure is not None, timeout)
            assert self._snapshot, f"the stream's signals never started: {self._failure}"

    def wait_for(self, kind: int, user: str, timeout: float = 30.0) -> live_types.PresenceChange:
        """The first change of ``kind`` for ``user``."""

        def found() -> live_types.PresenceChange | None:
            return next((c for c in self._changes if c.kind == kind and c.participant.user_id == user), None)

        with self._arrived:
            assert self._arrived.wait_for(lambda: found() is not None, timeout), f"no {kind} of {user}"
            change = found()
        assert change is not None
        return change

    def close(self) -> None:
        """End the stream."""
        self._stream.cancel()
        self._reader.join(timeout=5)


def new_key() -> str:
    """A fresh idempotency key."""
    return str(uuid.uuid4())
