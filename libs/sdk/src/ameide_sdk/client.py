"""AmeideClient: typed stubs of the four services over grpc.aio, with credentials on every call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, Self

import grpc
import grpc.aio

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2, artifacts_service_pb2_grpc
from ameide_core_proto.live.v1 import live_service_pb2, live_service_pb2_grpc, live_types_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc
from ameide_sdk.auth import auth_interceptors
from ameide_sdk.chat_artifact import ChatArtifactHelper, RetryPolicy
from ameide_sdk.checkpoints import CheckpointStore
from ameide_sdk.drafts import DraftWriter
from ameide_sdk.presence import PresenceHeartbeat
from ameide_sdk.subscriptions import ReconnectPolicy, Subscription
from ameide_sdk.validation import optional_uuid, require_text, require_uuid


class ChatWrite(Protocol):
    """The answer of a write that names a chat: ``SendResult``, or an EnsureChatForArtifactAndSendMessage response."""

    @property
    def threads_id(self) -> str:
        """The chat written to."""
        ...

    @property
    def consistency_token(self) -> str:
        """The token that makes a read (or a subscription) wait for the write."""
        ...


class ArtifactWrite(Protocol):
    """The answer of a write that names an artifact: a CreateArtifact or UpdateArtifact* response."""

    @property
    def artifact_id(self) -> str:
        """The artifact written to."""
        ...

    @property
    def consistency_token(self) -> str:
        """The token that makes a read (or a subscription) wait for the write."""
        ...


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
    (``threads_queries``, ``artifact_queries``) and the live-signal services (``presence``, ``drafts``) to
    ``query_target`` when given (the deployables are separate), else to ``target`` (one gateway). Use
    ``async with`` to close the channels.

    Example (the artifact-first flow: send, then follow the chat the send created)::

        from ameide_sdk import AmeideClient

        async with AmeideClient("localhost:50051", query_target="localhost:50052", token=token) as client:
            sent = await client.threads_artifact.send_message_from_artifact(artifact_id, "Hello")
            async for update in client.subscribe_chat(sent):  # waits until the new chat is visible
                print(update.WhichOneof("update"))
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
        self.presence = live_service_pb2_grpc.PresenceServiceStub(self._query_channel)
        self.drafts = live_service_pb2_grpc.DraftServiceStub(self._query_channel)
        self.threads_artifact = ChatArtifactHelper(self, retry=retry)
        self._reconnect = reconnect or ReconnectPolicy()

    def subscribe_chat(
        self,
        threads_id: str | ChatWrite,
        *,
        consistency_token: str | None = None,
        resume_token: str | None = None,
        checkpoint_store: CheckpointStore | None = None,
        include_control: bool = False,
        include_signals: bool = False,
    ) -> Subscription[threads_service_pb2.ChatUpdate]:
        """Live updates of a chat that reconnect, resume and dedupe by themselves.

        ``threads_id`` is a chat id, or the answer of a write naming the chat (``SendResult``): then the
        subscription waits for that write, as ``consistency_token=`` does for an id. Waiting means the server
        starts the stream only once the write is visible (a chat just created is found, one just deleted is
        NOT_FOUND); past the server's bound it answers UNAVAILABLE and the subscription retries like any
        reconnect. Starts after ``resume_token``, else after the checkpoint saved in ``checkpoint_store`` for
        this chat, else from now (after the write). Raises ``ResumeExpired`` (while iterating) when that
        checkpoint is too old. With ``include_signals`` it also yields presence, typing and draft updates
        (``ameide_sdk.live`` lists them; ``LiveSignals`` folds them), starting over after every reconnect.
        """
        chat_id, written = _target(threads_id, "threads_id", consistency_token)

        def open_stream(token: str) -> grpc.aio.UnaryStreamCall[Any, threads_service_pb2.ChatUpdate]:
            request = threads_service_pb2.StreamChatRequest(
                threads_id=chat_id, resume_token=token, consistency_token=written, include_signals=include_signals
            )
            return self.threads_queries.StreamChatUpdates(request)

        return Subscription(
            f"thread:{chat_id}",
            open_stream,
            resume_token=resume_token,
            store=checkpoint_store,
            include_control=include_control,
            policy=self._reconnect,
        )

    def subscribe_artifact(
        self,
        artifact_id: str | ArtifactWrite,
        *,
        consistency_token: str | None = None,
        resume_token: str | None = None,
        checkpoint_store: CheckpointStore | None = None,
        include_control: bool = False,
        include_signals: bool = False,
    ) -> Subscription[artifacts_service_pb2.ArtifactUpdate]:
        """Live updates of an artifact, with the behaviour of ``subscribe_chat``.

        ``artifact_id`` is an artifact id, or the answer of a write naming the artifact (e.g. CreateArtifact's):
        then the subscription waits for that write. ``include_signals`` adds who is present on the artifact.
        """
        target_id, written = _target(artifact_id, "artifact_id", consistency_token)

        def open_stream(token: str) -> grpc.aio.UnaryStreamCall[Any, artifacts_service_pb2.ArtifactUpdate]:
            request = artifacts_service_pb2.StreamArtifactRequest(
                artifact_id=target_id, resume_token=token, consistency_token=written, include_signals=include_signals
            )
            return self.artifact_queries.StreamArtifactUpdates(request)

        return Subscription(
            f"artifact:{target_id}",
            open_stream,
            resume_token=resume_token,
            store=checkpoint_store,
            include_control=include_control,
            policy=self._reconnect,
        )

    def stream_draft(
        self,
        threads_id: str | ChatWrite,
        *,
        agent_id: str,
        draft_id: str | None = None,
        artifact_id: str | None = None,
        consistency_token: str | None = None,
    ) -> DraftWriter:
        """A draft assistant message of ``agent_id`` in a chat the caller may write, streamed as it is written.

        ``async with`` it and ``append`` text: the chat's subscribers see it grow. Leaving the block normally sends
        the draft as one assistant message (``draft.completed``), whose idempotency key is ``draft_id`` (a fresh
        UUID by default; pass one derived from what the agent answers, and a restarted agent completing again
        stores nothing twice); leaving it with an exception abandons the draft. A dropped stream is reopened and
        resumed by itself. ``threads_id`` may be the answer of the write that created the chat (or pass its
        ``consistency_token``): the draft then starts once that write is visible.
        """
        chat_id, written = _target(threads_id, "threads_id", consistency_token)
        return DraftWriter(
            self.drafts,
            chat_id,
            agent_id=require_text("agent_id", agent_id),
            draft_id=optional_uuid("draft_id", draft_id) or None,
            artifact_id=optional_uuid("artifact_id", artifact_id),
            consistency_token=written,
            policy=self._reconnect,
        )

    async def announce_presence(
        self,
        *,
        threads_id: str | None = None,
        artifact_id: str | None = None,
        client_id: str,
        typing: bool = False,
        display_name: str = "",
        consistency_token: str = "",
    ) -> live_service_pb2.AnnouncePresenceResponse:
        """Announce one client on a chat or an artifact once (``presence_heartbeat`` keeps announcing).

        Example::

            answer = await client.announce_presence(threads_id=chat_id, client_id="tab-1", display_name="Ada")
            print(answer.renew_after_ms)  # announce again within this, or the presence expires
        """
        state = live_types_pb2.PRESENCE_STATE_TYPING if typing else live_types_pb2.PRESENCE_STATE_VIEWING
        request = live_service_pb2.AnnouncePresenceRequest(
            client_id=client_id,
            state=state,
            display_name=display_name,
            consistency_token=consistency_token,
            **_resource(threads_id, artifact_id),
        )
        return await self.presence.AnnouncePresence(request)

    async def leave_presence(
        self, *, threads_id: str | None = None, artifact_id: str | None = None, client_id: str
    ) -> None:
        """Remove one client at once (the user leaves when it was their last)."""
        await self.presence.LeavePresence(
            live_service_pb2.LeavePresenceRequest(client_id=client_id, **_resource(threads_id, artifact_id))
        )

    def presence_heartbeat(
        self,
        *,
        threads_id: str | None = None,
        artifact_id: str | None = None,
        display_name: str = "",
        client_id: str | None = None,
        consistency_token: str = "",
    ) -> PresenceHeartbeat:
        """Keep one client present on a chat or an artifact while the ``async with`` block runs.

        A background task announces it again as often as the server asks; ``typing()`` / ``viewing()`` say what the
        user does; the client leaves when the block ends. ``consistency_token`` (of the write that created the
        resource) makes the first announcement wait until the resource is visible.
        """
        return PresenceHeartbeat(
            self.presence,
            _resource(threads_id, artifact_id),
            display_name=display_name,
            client_id=client_id,
            consistency_token=consistency_token,
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


def _target(target: str | ChatWrite | ArtifactWrite, field: str, consistency_token: str | None) -> tuple[str, str]:
    """The resource id and the consistency token to wait for: the explicit token wins over the write's own.

    The token goes with every (re)connect: a reconnect may reach another replica, whose read model may be
    further behind than the one that served the first connection.
    """
    if isinstance(target, str):
        return require_uuid(field, target), consistency_token or ""
    resource_id = getattr(target, field, None)
    if resource_id is None:
        raise ValueError(f"{field} must be a UUID or a write's answer naming one, got {type(target).__name__}")
    return require_uuid(field, resource_id), consistency_token or target.consistency_token


def _resource(threads_id: str | None, artifact_id: str | None) -> dict[str, str]:
    """The request field naming exactly one of a chat and an artifact (checked)."""
    if bool(threads_id) == bool(artifact_id):
        raise ValueError("pass exactly one of threads_id and artifact_id")
    if threads_id:
        return {"threads_id": require_uuid("threads_id", threads_id)}
    return {"artifact_id": require_uuid("artifact_id", artifact_id)}
