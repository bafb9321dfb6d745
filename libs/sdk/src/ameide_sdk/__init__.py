"""Python client SDK of Ameide Threads.

``AmeideClient`` exposes typed grpc.aio stubs of the services, ``threads_artifact`` (ChatArtifactHelper:
artifact-first sends with one idempotency key across retries), resumable, deduplicated subscriptions (with live
signals folded by ``LiveSignals``), and the live signals' writing side: ``stream_draft`` (``DraftWriter``) for agents
and ``presence_heartbeat`` (``PresenceHeartbeat``) for clients.
"""

from __future__ import annotations

from ameide_sdk.auth import auth_interceptors, auth_metadata, dev_headers
from ameide_sdk.chat_artifact import ChatArtifactHelper, RetryPolicy, SendResult
from ameide_sdk.checkpoints import CheckpointStore, FileCheckpointStore, InMemoryCheckpointStore
from ameide_sdk.client import AmeideClient, ArtifactWrite, ChatWrite
from ameide_sdk.drafts import DraftWriter
from ameide_sdk.errors import AmeideSdkError, ResumeExpired, error_reason
from ameide_sdk.live import Draft, LiveSignals, Participant
from ameide_sdk.pagination import page_through
from ameide_sdk.presence import PresenceHeartbeat
from ameide_sdk.subscriptions import ReconnectPolicy, Subscription

__all__ = [
    "AmeideClient",
    "AmeideSdkError",
    "ArtifactWrite",
    "ChatArtifactHelper",
    "ChatWrite",
    "CheckpointStore",
    "Draft",
    "DraftWriter",
    "FileCheckpointStore",
    "InMemoryCheckpointStore",
    "LiveSignals",
    "Participant",
    "PresenceHeartbeat",
    "ReconnectPolicy",
    "ResumeExpired",
    "RetryPolicy",
    "SendResult",
    "Subscription",
    "auth_interceptors",
    "auth_metadata",
    "dev_headers",
    "error_reason",
    "page_through",
]
