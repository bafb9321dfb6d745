"""Who may announce presence on, list, or draft in a resource: the read rules (``ameide_query.views.access``).

Presence is renewed every few seconds by every client, so a granted check is reused for ``window`` seconds (a
caller who loses access stays visible at most that long plus the viewing TTL); a refusal is never reused, so a
resource that has just become readable (the caller's own new chat) is found at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ameide_query.views import access
from ameide_query.views.db import ReadPool
from ameide_readmodel.feed.names import artifact_feed, chat_feed
from ameide_runtime.errors import NotFound
from ameide_runtime.identity import Identity

_PRUNE_AT = 4096


@dataclass(frozen=True, slots=True)
class Resource:
    """A chat or an artifact, as presence names it."""

    is_chat: bool
    resource_id: uuid.UUID

    @property
    def feed_key(self) -> str:
        """The resource's feed (``thread:{id}`` / ``artifact:{id}``), which its signals follow."""
        return chat_feed(str(self.resource_id)) if self.is_chat else artifact_feed(str(self.resource_id))

    def not_found(self) -> NotFound:
        """The error of an unreadable resource, as GetChat / GetArtifact word it."""
        if self.is_chat:
            return NotFound(f"chat {self.resource_id} not found", reason="CHAT_NOT_FOUND")
        return NotFound(f"artifact {self.resource_id} not found", reason="ARTIFACT_NOT_FOUND")


class ResourceAccess:
    """Read and write checks against the read model, granted reads cached briefly."""

    def __init__(self, db: ReadPool, *, window: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._window = window
        self._clock = clock
        self._granted: dict[tuple[Identity, Resource], float] = {}

    async def require_readable(self, caller: Identity, resource: Resource) -> None:
        """Return when ``caller`` may read ``resource``; NOT_FOUND otherwise."""
        key = (caller, resource)
        now = self._clock()
        if self._granted.get(key, 0.0) > now:
            return
        async with self._db.connection() as conn:
            if resource.is_chat:
                found: object = await access.readable_chat(conn, caller, resource.resource_id)
            else:
                found = await access.readable_artifact(conn, caller, resource.resource_id)
        if found is None:
            self._granted.pop(key, None)
            raise resource.not_found()
        if len(self._granted) >= _PRUNE_AT:
            self._granted = {k: until for k, until in self._granted.items() if until > now}
        self._granted[key] = now + self._window

    async def require_writable_chat(self, caller: Identity, threads_id: uuid.UUID) -> None:
        """Return when ``caller`` may send to the chat (always checked afresh); NOT_FOUND otherwise."""
        async with self._db.connection() as conn:
            if await access.writable_chat(conn, caller, threads_id) is None:
                raise Resource(is_chat=True, resource_id=threads_id).not_found()
