"""Presence in Redis: who of a tenant views or types on a chat or an artifact, one entry per client, with TTLs.

A user is one participant however many clients (tabs) they have: present while any client is, typing while any is.
Every change of a participant is published by the script that makes it (``lua/announce.lua``, ``leave.lua``,
``expire_presence.lua``), so subscribers learn it as soon as the live reader reads the resource's signal stream.
Deadlines are filed in one sorted set for the sweeper, which is how an expiry becomes a LEFT or TYPING_STOPPED
without scanning any key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TypeAlias

from redis.asyncio import Redis

from ameide_core_proto.live.v1 import live_types_pb2
from ameide_query.live import keys
from ameide_query.live.clock import Clock, millis, wall_clock
from ameide_query.live.scripts import Scripts, run
from ameide_runtime.identity import Identity

# A resource's signal stream keeps about this many signals (subscribers start from snapshots, not from the stream)
# and disappears this long after its last signal.
STREAM_MAXLEN = 1000
STREAM_TTL_MS = 3600 * 1000
# Keys outlive the deadlines they hold by this much, so the sweeper always finds what it must announce.
GRACE_MS = 60 * 1000

State: TypeAlias = live_types_pb2.PresenceState.ValueType


@dataclass(frozen=True, slots=True)
class Announced:
    """The announcing user's state afterwards, and when the client's presence expires (ms)."""

    state: State
    expires_at_ms: int


class PresenceStore:
    """Announce, leave and expire presence entries (``keys`` names where they live)."""

    def __init__(
        self,
        redis: Redis,
        scripts: Scripts,
        *,
        viewing_ttl_seconds: float,
        typing_ttl_seconds: float,
        clock: Clock = wall_clock,
        prefix: str = keys.KEY_PREFIX,
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self.viewing_ttl_ms = max(1, int(viewing_ttl_seconds * 1000))
        self.typing_ttl_ms = max(1, int(typing_ttl_seconds * 1000))
        self._clock = clock
        self._prefix = prefix

    def _keys(self, feed_key: str, tenant_id: str) -> list[str]:
        return [
            keys.presence_key(feed_key, tenant_id, self._prefix),
            keys.presence_due_key(self._prefix),
            keys.signals_key(feed_key, self._prefix),
            keys.epoch_key(self._prefix),
        ]

    async def announce(
        self, feed_key: str, caller: Identity, client_id: str, state: State, display_name: str
    ) -> Announced:
        """One client of the caller views (or types on) the resource from now until its TTLs pass."""
        now, tenant_id = millis(self._clock), caller.tenant_id
        args = [
            now, caller.user_id, client_id, int(state), self.viewing_ttl_ms, self.typing_ttl_ms, display_name,
            tenant_id, keys.presence_member(feed_key, tenant_id), STREAM_MAXLEN, STREAM_TTL_MS, GRACE_MS,
            secrets.token_hex(8),
        ]  # fmt: skip
        after = await run(self._scripts.announce, self._keys(feed_key, tenant_id), args)
        return Announced(
            state=live_types_pb2.PresenceState.ValueType(int(after)), expires_at_ms=now + self.viewing_ttl_ms
        )

    async def leave(self, feed_key: str, caller: Identity, client_id: str) -> bool:
        """Remove one client of the caller (False when it was not present)."""
        tenant_id = caller.tenant_id
        args = [
            millis(self._clock), caller.user_id, client_id, tenant_id, keys.presence_member(feed_key, tenant_id),
            STREAM_MAXLEN, STREAM_TTL_MS, GRACE_MS, secrets.token_hex(8), self.viewing_ttl_ms,
        ]  # fmt: skip
        return bool(await run(self._scripts.leave, self._keys(feed_key, tenant_id), args))

    async def expire(self, limit: int = 100) -> int:
        """Settle up to ``limit`` presences whose next change is due; how many were settled."""
        args = [millis(self._clock), limit, self._prefix, STREAM_MAXLEN, STREAM_TTL_MS, GRACE_MS, self.viewing_ttl_ms]
        return int(await run(self._scripts.expire_presence, [keys.presence_due_key(self._prefix)], args))

    async def next_due_ms(self) -> int | None:
        """When the earliest presence change is due (ms), if any."""
        return await first_score(self._redis, keys.presence_due_key(self._prefix))


async def first_score(redis: Redis, key: str) -> int | None:
    """The lowest score of a sorted set (a deadline in ms), if it has members."""
    first = await redis.zrange(key, 0, 0, withscores=True)
    return int(first[0][1]) if first else None
