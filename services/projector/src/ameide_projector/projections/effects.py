"""The effects a projection asks for, as plain values over the read model's rows (no SQL, no I/O)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from ameide_readmodel.artifacts import ArtifactRow, ArtifactVersionRow, HistoryRow
from ameide_readmodel.chats import ChatRow, MessageRow
from ameide_readmodel.links import LinkRow

# Effects: what one event changes. The batch folds them (in event order) into the statements it writes.


@dataclass(frozen=True, slots=True)
class PutChat:
    """The chat's whole row after the event."""

    row: ChatRow


@dataclass(frozen=True, slots=True)
class AddMessage:
    """A new message."""

    row: MessageRow


@dataclass(frozen=True, slots=True)
class PutArtifact:
    """The artifact's whole row after the event (``row.body`` is ``None`` when the content did not change)."""

    row: ArtifactRow


@dataclass(frozen=True, slots=True)
class AddArtifactVersion:
    """A readable past version."""

    row: ArtifactVersionRow


@dataclass(frozen=True, slots=True)
class Link:
    """A chat and an artifact are linked (written by either side; the earliest link wins)."""

    row: LinkRow


@dataclass(frozen=True, slots=True)
class Unlink:
    """A chat and an artifact are no longer linked."""

    chat_id: uuid.UUID
    artifact_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class AddHistory:
    """An entry of the artifact's history."""

    row: HistoryRow


@dataclass(frozen=True, slots=True)
class Publish:
    """A live update for a feed: ``update`` is a serialized ChatUpdate / ArtifactUpdate (no checkpoint token).

    ``chat_visibility_before``: see ``ameide_readmodel.feed.entries.FeedUpdate``.
    """

    feed_key: str
    tenant_id: str
    update: bytes
    occurred_at: dt.datetime
    chat_visibility_before: int = 0


@dataclass(frozen=True, slots=True)
class AnnounceChat:
    """The chat as artifacts show it changed: each artifact it is linked to tells its subscribers.

    ``chat`` is the chat after the change (renamed, visibility changed, deleted); ``visibility_before`` its
    visibility just before (0 when the change keeps who may read it: a new title).
    The batch knows the chat's links, the projection does not.
    """

    chat: ChatRow
    visibility_before: int
    occurred_at: dt.datetime


Effect = PutChat | AddMessage | PutArtifact | AddArtifactVersion | Link | Unlink | AddHistory | Publish | AnnounceChat


class MissingStateError(LookupError):
    """An event refers to a chat or artifact the read model does not have (its creation was never projected)."""
