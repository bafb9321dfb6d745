"""Data for the web app's tests, written through the command service's gRPC port as another client would.

Every write waits until the query side has applied it (a query given the write's consistency token), so a page
opened next reads it: tests never race the projector.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import grpc

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art_service
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc as art_grpc
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.live.v1 import live_service_pb2 as live_service
from ameide_core_proto.live.v1 import live_service_pb2_grpc as live_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat_service
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc as chat_grpc
from ameide_core_proto.threads.v1 import threads_types_pb2 as chat_types
from tests.browser.conftest import WebStack

BPMN_MIME = "application/bpmn+xml"
MIME_BY_KIND = {"bpmn": BPMN_MIME, "document": "text/markdown", "code": "text/plain"}


def bpmn(*tasks: str) -> bytes:
    """A start event, ``tasks`` in a row and an end event, with diagram interchange (positions) for each."""
    names = ["Start", *tasks, "End"]
    kinds = ["startEvent", *(["task"] * len(tasks)), "endEvent"]
    ids = [f"node_{index}" for index in range(len(names))]
    # Every element centred on y=120, 160 px apart: tasks 100x80, events 36x36.
    boxes = [
        (100 + 160 * i, 80, 100, 80) if kind == "task" else (100 + 160 * i, 102, 36, 36) for i, kind in enumerate(kinds)
    ]
    elements = "".join(
        f'<bpmn:{kind} id="{id_}" name="{name}"/>' for kind, id_, name in zip(kinds, ids, names, strict=True)
    )
    flows = "".join(
        f'<bpmn:sequenceFlow id="flow_{i}" sourceRef="{ids[i]}" targetRef="{ids[i + 1]}"/>' for i in range(len(ids) - 1)
    )
    shapes = "".join(
        f'<bpmndi:BPMNShape id="{id_}_di" bpmnElement="{id_}"><dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}"/>'
        "</bpmndi:BPMNShape>"
        for id_, (x, y, w, h) in zip(ids, boxes, strict=True)
    )
    edges = "".join(
        f'<bpmndi:BPMNEdge id="flow_{i}_di" bpmnElement="flow_{i}">'
        f'<di:waypoint x="{boxes[i][0] + boxes[i][2]}" y="120"/><di:waypoint x="{boxes[i + 1][0]}" y="120"/>'
        "</bpmndi:BPMNEdge>"
        for i in range(len(ids) - 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs" targetNamespace="https://ameide.io/tests">'
        f'<bpmn:process id="process" isExecutable="false">{elements}{flows}</bpmn:process>'
        f'<bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="process">{shapes}{edges}'
        "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>"
    ).encode()


def text_message(text: str) -> chat_types.ChatMessageInput:
    """A user message of one text part."""
    return chat_types.ChatMessageInput(role="user", parts=[chat_types.MessagePart(text=chat_types.TextPart(text=text))])


@dataclass(frozen=True)
class Sent:
    """Where a message went."""

    chat_id: str
    message_id: str


class Seed:
    """One user of one tenant writing through gRPC; every method returns once the write is readable."""

    def __init__(self, web_stack: WebStack, user: str, tenant: str) -> None:
        self.user = user
        self.tenant = tenant
        self._channels = [
            grpc.insecure_channel(web_stack.stack.command_target),
            grpc.insecure_channel(web_stack.stack.query_target),
        ]
        commands, queries = self._channels
        self.chats = chat_grpc.ChatCommandServiceStub(commands)
        self.artifacts = art_grpc.ArtifactCommandServiceStub(commands)
        self._chat_queries = chat_grpc.ChatQueryServiceStub(queries)
        self.drafts = live_grpc.DraftServiceStub(queries)
        self.auth = web_stack.stack.metadata(user, tenant)

    def close(self) -> None:
        """Close the channels."""
        for channel in self._channels:
            channel.close()

    def _visible(self, consistency_token: str) -> None:
        self._chat_queries.ListChats(
            chat_service.ListChatsRequest(page_size=1, consistency_token=consistency_token), metadata=self.auth
        )

    def artifact(self, title: str, kind: str = "bpmn", content: bytes | None = None, *, chat_id: str = "") -> str:
        """A new artifact's id (``chat_id``: created from that chat, linked as CREATED)."""
        body = bpmn("Review") if content is None and kind == "bpmn" else (content or b"")
        request = art_service.CreateArtifactRequest(
            title=title, kind=kind, primary_threads_id=chat_id, idempotency_key=str(uuid.uuid4())
        )
        if body:
            request.content.CopyFrom(
                art_types.ArtifactContent(mime_type=MIME_BY_KIND.get(kind, "text/plain"), body=body)
            )
        reply = self.artifacts.CreateArtifact(request, metadata=self.auth)
        self._visible(reply.consistency_token)
        return str(reply.artifact_id)

    def update_content(self, artifact_id: str, body: bytes, mime_type: str = BPMN_MIME) -> int:
        """Replace the content; the new version."""
        request = art_service.UpdateArtifactContentRequest(
            artifact_id=artifact_id, content=art_types.ArtifactContent(mime_type=mime_type, body=body)
        )
        reply = self.artifacts.UpdateArtifactContent(request, metadata=self.auth)
        self._visible(reply.consistency_token)
        return int(reply.version)

    def rename_artifact(self, artifact_id: str, title: str) -> int:
        """Change the title; the new version."""
        request = art_service.UpdateArtifactMetadataRequest(
            artifact_id=artifact_id, metadata=art_types.ArtifactMetadata(title=title)
        )
        request.update_mask.paths.append("title")
        reply = self.artifacts.UpdateArtifactMetadata(request, metadata=self.auth)
        self._visible(reply.consistency_token)
        return int(reply.version)

    def chat(
        self, title: str, visibility: chat_types.ChatVisibility.ValueType = chat_types.CHAT_VISIBILITY_PRIVATE
    ) -> str:
        """A new chat's id."""
        request = chat_service.CreateChatRequest(title=title, visibility=visibility, idempotency_key=str(uuid.uuid4()))
        reply = self.chats.CreateChat(request, metadata=self.auth)
        self._visible(reply.consistency_token)
        return str(reply.threads.id)

    def about(
        self,
        artifact_id: str,
        text: str,
        chat_id: str = "",
        visibility: chat_types.ChatVisibility.ValueType = chat_types.CHAT_VISIBILITY_UNSPECIFIED,
    ) -> Sent:
        """EnsureChatForArtifactAndSendMessage: into ``chat_id``, or a new chat (``visibility``) about the artifact."""
        request = chat_service.EnsureChatForArtifactAndSendMessageRequest(
            artifact_id=artifact_id,
            threads_id=chat_id,
            message=text_message(text),
            idempotency_key=str(uuid.uuid4()),
            visibility=visibility,
        )
        reply = self.chats.EnsureChatForArtifactAndSendMessage(request, metadata=self.auth)
        self._visible(reply.consistency_token)
        return Sent(str(reply.threads_id), str(reply.persisted_message.id))

    def send(self, chat_id: str, text: str, *, wait: bool = True) -> str:
        """SendMessage; the message's id (``wait=False``: without waiting for the query side, e.g. while it is down)."""
        request = chat_service.SendMessageRequest(
            threads_id=chat_id, message=text_message(text), idempotency_key=str(uuid.uuid4())
        )
        reply = self.chats.SendMessage(request, metadata=self.auth)
        if wait:
            self._visible(reply.consistency_token)
        return str(reply.message.id)

    def link(self, chat_id: str, artifact_id: str) -> None:
        """AssociateArtifact as REFERENCED."""
        request = chat_service.AssociateChatArtifactRequest(
            threads_id=chat_id, artifact_id=artifact_id, relation_type=chat_types.RELATION_TYPE_REFERENCED
        )
        self._visible(self.chats.AssociateArtifact(request, metadata=self.auth).consistency_token)

    def rename_chat(self, chat_id: str, title: str) -> None:
        """Change the chat's title."""
        request = chat_service.UpdateChatTitleRequest(threads_id=chat_id, title=title)
        self._visible(self.chats.UpdateChatTitle(request, metadata=self.auth).consistency_token)

    def share(
        self, chat_id: str, visibility: chat_types.ChatVisibility.ValueType = chat_types.CHAT_VISIBILITY_TEAM
    ) -> None:
        """Change the chat's visibility."""
        request = chat_service.UpdateChatVisibilityRequest(threads_id=chat_id, visibility=visibility)
        self._visible(self.chats.UpdateVisibility(request, metadata=self.auth).consistency_token)

    def draft(self, chat_id: str, *deltas: str, agent_id: str = "demo") -> str:
        """A draft assistant message left open in the chat (as an agent still writing it): its id."""
        draft_id = str(uuid.uuid4())
        start = live_service.StartDraftRequest(draft_id=draft_id, threads_id=chat_id, agent_id=agent_id)
        self.drafts.StartDraft(start, metadata=self.auth)
        for seq, text in enumerate(deltas, start=1):
            append = live_service.AppendDraftRequest(draft_id=draft_id, seq=seq, text=text)
            self.drafts.AppendDraft(append, metadata=self.auth)
        return draft_id

    def complete_draft(self, draft_id: str) -> None:
        """The draft becomes the chat's assistant message."""
        request = live_service.CompleteDraftRequest(draft_id=draft_id)
        self._visible(self.drafts.CompleteDraft(request, metadata=self.auth).consistency_token)

    def delete_chat(self, chat_id: str) -> None:
        """Delete the chat."""
        request = chat_service.DeleteChatRequest(threads_id=chat_id)
        self._visible(self.chats.DeleteChat(request, metadata=self.auth).consistency_token)
