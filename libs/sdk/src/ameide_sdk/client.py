"""AmeideClient: typed stubs of the four services over grpc.aio, with credentials on every call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import grpc
import grpc.aio

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2, artifacts_service_pb2_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc
from ameide_sdk.auth import auth_interceptors
from ameide_sdk.chat_artifact import ChatArtifactHelper, RetryPolicy
from ameide_sdk.checkpoints import CheckpointStore
from ameide_sdk.subscriptions import ReconnectPolicy, Subscription
from ameide_sdk.validation import require_uuid


def _channel(
    target: str,
    *,
    secure: bool,
    credentials: grpc.ChannelCredentials | None,
    interceptors: Sequence[grpc.aio.ClientInterceptor],
    options: Sequence[tuple[str, Any]],
) -> grpc.aio.Channel:
    if secure or credentials is not None:
        return grpc.aio.secure_channel(
            target, credentials or grpc.ssl_channel_credentials(), options=options, interceptors=interceptors
        )
    return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)


class AmeideClient:
    """Client of Ameide Threads.

    The command services (``threads_commands``, ``artifact_commands``) talk to ``target``; the query services
    (``threads_queries``, ``artifact_queries``) to ``query_target`` when given (the deployables are separate),
    else to ``target`` (one gateway). Use ``async with`` to close the channels.

    Example::

        async with AmeideClient("localhost:50051", query_target="localhost:50052", token=jwt) as client:
            sent = await client.threads_artifact.send_message_from_artifact(artifact_id, "Hello")
            async for update in client.subscribe_chat(sent.threads_id):
                ...
    """

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        secure: bool = False,
        query_target: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
        retry: RetryPolicy | None = None,
        reconnect: ReconnectPolicy | None = None,
    ) -> None:
        interceptors = auth_interceptors(token, headers)

        def make(address: str) -> grpc.aio.Channel:
            return _channel(address, secure=secure, credentials=credentials, interceptors=interceptors, options=options)

        self._command_channel = make(target)
        self._query_channel = self._command_channel
        if query_target and query_target != target:
            self._query_channel = make(query_target)
        self.threads_commands = threads_service_pb2_grpc.ChatCommandServiceStub(self._command_channel)
        self.artifact_commands = artifacts_service_pb2_grpc.ArtifactCommandServiceStub(self._command_channel)
        self.threads_queries = threads_service_pb2_grpc.ChatQueryServiceStub(self._query_channel)
        self.artifact_queries = artifacts_service_pb2_grpc.ArtifactQueryServiceStub(self._query_channel)
        self.threads_artifact = ChatArtifactHelper(self, retry=retry)
        self._reconnect = reconnect or ReconnectPolicy()

    def subscribe_chat(
        self,
        threads_id: str,
        *,
        resume_token: str | None = None,
        checkpoint_store: CheckpointStore | None = None,
        include_control: bool = False,
    ) -> Subscription[threads_service_pb2.ChatUpdate]:
        """Live updates of a chat that reconnect, resume and dedupe by themselves.

        Starts after ``resume_token``, else after the checkpoint saved in ``checkpoint_store`` for this chat,
        else from now. Raises ``ResumeExpired`` (while iterating) when that checkpoint is too old.
        """
        require_uuid("threads_id", threads_id)

        def open_stream(token: str) -> grpc.aio.UnaryStreamCall[Any, threads_service_pb2.ChatUpdate]:
            request = threads_service_pb2.StreamChatRequest(threads_id=threads_id, resume_token=token)
            return self.threads_queries.StreamChatUpdates(request)

        return Subscription(
            f"thread:{threads_id}",
            open_stream,
            resume_token=resume_token,
            store=checkpoint_store,
            include_control=include_control,
            policy=self._reconnect,
        )

    def subscribe_artifact(
        self,
        artifact_id: str,
        *,
        resume_token: str | None = None,
        checkpoint_store: CheckpointStore | None = None,
        include_control: bool = False,
    ) -> Subscription[artifacts_service_pb2.ArtifactUpdate]:
        """Live updates of an artifact, with the behaviour of ``subscribe_chat``."""
        require_uuid("artifact_id", artifact_id)

        def open_stream(token: str) -> grpc.aio.UnaryStreamCall[Any, artifacts_service_pb2.ArtifactUpdate]:
            request = artifacts_service_pb2.StreamArtifactRequest(artifact_id=artifact_id, resume_token=token)
            return self.artifact_queries.StreamArtifactUpdates(request)

        return Subscription(
            f"artifact:{artifact_id}",
            open_stream,
            resume_token=resume_token,
            store=checkpoint_store,
            include_control=include_control,
            policy=self._reconnect,
        )

    async def close(self) -> None:
        """Close the channels (in-flight calls are cancelled)."""
        await self._command_channel.close()
        if self._query_channel is not self._command_channel:
            await self._query_channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
