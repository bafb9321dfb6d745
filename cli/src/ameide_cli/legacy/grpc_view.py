"""Verification through the query service: GetChat, GetMessages, GetArtifact and GetArtifactHistory over gRPC.

Each read is made as the record's legacy owner, so private chats are readable: with ``--jwt-secret`` a token is
minted per owner, with ``--insecure-headers`` (dev mode) the owner goes in x-user-id; a fixed ``--token`` reads as
one caller only (other owners' private chats then count as missing).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import grpc

from ameide_cli.legacy.views import Annotation, Version
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art_svc
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc as art_grpc
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat_svc
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc as chat_grpc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2
from ameide_runtime.auth import mint_token

Metadata = tuple[tuple[str, str], ...]
CONTENT_ENTRIES = frozenset({"created", "modified"})
PAGE = 200


class Credentials:
    """Call metadata identifying the caller as a given owner."""

    def __init__(
        self, tenant_id: str, *, token: str = "", jwt_secret: str = "", insecure_headers: bool = False
    ) -> None:
        self._tenant = tenant_id
        self._token = token
        self._secret = jwt_secret
        self._headers = insecure_headers
        self._minted: dict[str, str] = {}

    def __call__(self, owner: str) -> Metadata:
        """Metadata for a call made as ``owner``."""
        if self._headers:
            return (("x-user-id", owner), ("x-tenant-id", self._tenant))
        if self._secret:
            if owner not in self._minted:
                self._minted[owner] = mint_token(self._secret, user_id=owner, tenant_id=self._tenant, ttl_seconds=86400)
            return (("authorization", f"Bearer {self._minted[owner]}"),)
        return (("authorization", f"Bearer {self._token}"),) if self._token else ()


class GrpcView:
    """The query service as a verification view."""

    def __init__(self, target: str, credentials: Credentials) -> None:
        self.through = f"the query service at {target}"
        self._channel = grpc.aio.insecure_channel(target, options=[("grpc.max_receive_message_length", 64 << 20)])
        self._chats = chat_grpc.ChatQueryServiceStub(self._channel)
        self._artifacts = art_grpc.ArtifactQueryServiceStub(self._channel)
        self._as = credentials

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()

    async def chat(self, chat_id: uuid.UUID, owner: str) -> types_pb2.Chat | None:
        """GetChat."""
        request = chat_svc.GetChatRequest(threads_id=str(chat_id))
        try:
            response = await self._chats.GetChat(request, metadata=self._as(owner))
        except grpc.aio.AioRpcError as error:
            _absent(error)
            return None
        return response.threads

    async def messages(self, chat_id: uuid.UUID, owner: str) -> Sequence[types_pb2.ChatMessage]:
        """GetMessages, every page."""
        found: list[types_pb2.ChatMessage] = []
        token = ""
        while True:
            request = chat_svc.GetMessagesRequest(threads_id=str(chat_id), page_size=PAGE, page_token=token)
            try:
                response = await self._chats.GetMessages(request, metadata=self._as(owner))
            except grpc.aio.AioRpcError as error:
                _absent(error)
                return found
            found.extend(response.messages)
            token = response.next_page_token
            if not token:
                return found

    async def artifact(self, artifact_id: uuid.UUID, owner: str) -> art_types.ArtifactView | None:
        """GetArtifact with its chats."""
        return await self._artifact(artifact_id, owner, 0)

    async def _artifact(self, artifact_id: uuid.UUID, owner: str, version: int) -> art_types.ArtifactView | None:
        request = art_svc.GetArtifactRequest(artifact_id=str(artifact_id), include_chats=True, version=version)
        try:
            response = await self._artifacts.GetArtifact(request, metadata=self._as(owner))
        except grpc.aio.AioRpcError as error:
            _absent(error)
            return None
        return response.artifact

    async def _history(self, artifact_id: uuid.UUID, owner: str) -> list[art_types.ArtifactHistoryEntry]:
        entries: list[art_types.ArtifactHistoryEntry] = []
        token = ""
        while True:
            request = art_svc.GetArtifactHistoryRequest(artifact_id=str(artifact_id), page_size=100, page_token=token)
            try:
                response = await self._artifacts.GetArtifactHistory(request, metadata=self._as(owner))
            except grpc.aio.AioRpcError as error:
                _absent(error)
                return entries
            entries.extend(response.entries)
            token = response.next_page_token
            if not token:
                return sorted(entries, key=lambda entry: entry.version)

    async def versions(self, artifact_id: uuid.UUID, owner: str) -> Sequence[Version]:
        """Each content version: GetArtifact at the version of every created/modified history entry."""
        found: list[Version] = []
        for entry in await self._history(artifact_id, owner):
            if entry.event_type not in CONTENT_ENTRIES:
                continue
            view = await self._artifact(artifact_id, owner, entry.version)
            if view is not None:
                found.append(Version(view.title, view.kind, view.content))
        return found

    async def annotations(self, artifact_id: uuid.UUID, owner: str) -> Sequence[Annotation]:
        """The history's annotated entries."""
        return [
            Annotation(
                entry.metadata.get("annotation_type", ""),
                {key: value for key, value in entry.metadata.items() if key != "annotation_type"},
            )
            for entry in await self._history(artifact_id, owner)
            if entry.event_type == "annotated"
        ]


def _absent(error: grpc.aio.AioRpcError) -> None:
    # Not there (or not readable by this caller) is a verification finding; anything else is a real failure.
    if error.code() in {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED}:
        return
    raise error
