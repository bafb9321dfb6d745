"""What a subscriber starts from: the presence of its tenant and the open drafts, with the signal stream's position.

Read by one script (``lua/snapshot.lua``) so the position is exact: every signal after ``last_id`` is a change to
this snapshot, every one at or before it is already in it. ``epoch`` changes only when Redis lost its data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from ameide_core_proto.live.v1 import live_types_pb2
from ameide_query.live import keys, streamids
from ameide_query.live.scripts import Scripts, run
from ameide_query.live.signals import fill_participant
from ameide_query.live.streamids import StreamId

_PERSON_FIELDS = 4
_DRAFT_FIELDS = 6


@dataclass(frozen=True, slots=True)
class OpenDraft:
    """A draft as a subscriber first sees it: everything up to ``seq`` is in ``text``."""

    draft_id: str
    agent_id: str
    user_id: str
    started_ms: int
    seq: int
    text: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Presence (one tenant's) and open drafts (chats only) as of signal ``last_id``."""

    epoch: str
    last_id: StreamId
    participants: list[live_types_pb2.Participant] = field(default_factory=list)
    drafts: list[OpenDraft] = field(default_factory=list)


class Snapshots:
    """Reads snapshots."""

    def __init__(self, redis: Redis, scripts: Scripts, *, prefix: str = keys.KEY_PREFIX) -> None:
        self._redis = redis
        self._scripts = scripts
        self._prefix = prefix

    async def epoch(self) -> str:
        """The current epoch ("" when Redis holds no live signals at all, e.g. right after losing its data)."""
        value = await self._redis.get(keys.epoch_key(self._prefix))
        return _str(value) if value is not None else ""

    async def read(self, feed_key: str, tenant_id: str, *, with_drafts: bool = True) -> Snapshot:
        """The snapshot of a resource for a caller of ``tenant_id`` (its open drafts too, unless told not to)."""
        key_list = [
            keys.presence_key(feed_key, tenant_id, self._prefix), keys.drafts_key(feed_key, self._prefix),
            keys.signals_key(feed_key, self._prefix), keys.epoch_key(self._prefix),
        ]  # fmt: skip
        epoch, last_id, people, drafts = await run(
            self._scripts.snapshot, key_list, [keys.draft_key("", self._prefix), "1" if with_drafts else "0"]
        )
        participants = [_participant(people[i : i + _PERSON_FIELDS]) for i in range(0, len(people), _PERSON_FIELDS)]
        open_drafts = [_open_draft(drafts[i : i + _DRAFT_FIELDS]) for i in range(0, len(drafts), _DRAFT_FIELDS)]
        return Snapshot(_str(epoch), streamids.parse(last_id), participants, open_drafts)

    async def participants(self, feed_key: str, tenant_id: str) -> list[live_types_pb2.Participant]:
        """Who of ``tenant_id`` is present on the resource (ListPresence)."""
        return (await self.read(feed_key, tenant_id, with_drafts=False)).participants


def _participant(fields: list[bytes]) -> live_types_pb2.Participant:
    user, state, name, joined = fields
    return fill_participant(live_types_pb2.Participant(), _str(user), int(state), _str(name), int(joined))


def _open_draft(fields: list[bytes]) -> OpenDraft:
    draft_id, agent, user, started, seq, text = fields
    return OpenDraft(_str(draft_id), _str(agent), _str(user), int(started), int(seq), _str(text))


def _str(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
