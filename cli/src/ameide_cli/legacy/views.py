"""Where verification reads imported records from: the query service over gRPC, or the event store itself.

Both answer in the contract's read shapes (``Chat``, ``ChatMessage``, ``ArtifactView``), so the comparison is the
same whichever is used. The query service is preferred: it is what clients see (read model included).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2


@dataclass(frozen=True, slots=True)
class Version:
    """One content version of an artifact as the view shows it."""

    title: str
    kind: str
    content: art_types.ArtifactContent


@dataclass(frozen=True, slots=True)
class Annotation:
    """An artifact history note (e.g. an imported suggestion)."""

    annotation_type: str
    data: dict[str, str]


class View(Protocol):
    """Reads of imported records, as the owner ``owner`` (a chat's or document's legacy owner)."""

    through: str

    async def chat(self, chat_id: uuid.UUID, owner: str) -> types_pb2.Chat | None:
        """The chat, or ``None`` when it is not there (or not yet projected to ``version``)."""
        ...

    async def messages(self, chat_id: uuid.UUID, owner: str) -> Sequence[types_pb2.ChatMessage]:
        """Every message, oldest first."""
        ...

    async def artifact(self, artifact_id: uuid.UUID, owner: str) -> art_types.ArtifactView | None:
        """The artifact with its chat references."""
        ...

    async def versions(self, artifact_id: uuid.UUID, owner: str) -> Sequence[Version]:
        """Every content version (creation, then each content update), oldest first."""
        ...

    async def annotations(self, artifact_id: uuid.UUID, owner: str) -> Sequence[Annotation]:
        """Every annotation of the artifact's history, oldest first."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
