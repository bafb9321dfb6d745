"""Updates that name another resource reach only the subscribers who may read it (design.md section 5).

An artifact feed's ``threads_added`` / ``threads_removed`` name a chat, a chat feed's ``relation`` /
``relation_removed`` an artifact. A feed is one sequence for all its subscribers, so what each may receive is
decided when the update is sent to them (replayed from Redis or ``rm_feed``, or live), with the rule the unary
reads apply (``ameide_query.views.access``):

- ``threads_added`` goes to a caller who may list the chat now (GetArtifactChats' rule), with the chat's title as
  it is then: for a chat the caller's list shows already, it is an update (renamed, or visible again). A caller
  who may not list it any more, but could just before the change the update reports
  (``FeedEntry.chat_visibility_before``), gets ``threads_removed`` instead; anyone else gets nothing.
- ``threads_removed`` goes to a caller who could list the chat just before, or could now were it not deleted.
- ``relation`` / ``relation_removed`` go to callers of the artifact's tenant, which is the chat's (links never
  cross tenants): a reader of another tenant's PUBLIC chat learns nothing of that tenant's artifacts, exactly as
  GetChatArtifacts shows it none.

An update withheld from a caller is sent as nothing: the stream's position still moves past it, so the next
update's or heartbeat's checkpoint covers it and a resumed stream never meets it again. Nothing marks the moment
it happened (no empty message), so the caller does not learn when something they may not see changed.

The chat is read from ``rm_chats`` when the update is sent, once per feed entry for every subscriber it goes to
at about the same time (``max_age``), and once per replayed page: never once per subscriber. The same statement
reads the feed's head, so a read replica that has not applied the entry yet (or a chat whose own projection is
still on its way, from another shard) is asked again for a moment. Only the subscriber that needs it waits.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence

from prometheus_client import Counter

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2, artifacts_types_pb2
from ameide_pg.pool import ConnectionPool
from ameide_query.streams import reads
from ameide_query.streams.kinds import Update
from ameide_query.views.access import ChatFacts, can_list_chat, may_learn_chat_left
from ameide_readmodel.feed.entries import FeedEntry
from ameide_runtime.identity import Identity

_log = logging.getLogger(__name__)

WITHHELD = Counter(
    "ameide_live_withheld_total", "Stream updates naming a chat or artifact the subscriber may not read, not sent"
)

# Update cases naming a chat (artifact feeds) and naming an artifact (chat feeds).
_NAMING_CHAT = frozenset({"threads_added", "threads_removed"})
_NAMING_ARTIFACT = frozenset({"relation", "relation_removed"})

# A chat read for one entry serves the subscribers it goes to within this many seconds; later ones read again.
MAX_AGE_SECONDS = 1.0
# While the head read with the chats is below the entry, or a chat is not there yet, read again this often.
_RETRIES = 40
_RETRY_WAIT = 0.05
_CAPACITY = 4096


class Outcome(enum.Enum):
    """What one caller receives for an update naming a chat."""

    ADDED = "added"
    REMOVED = "removed"
    NOTHING = "nothing"


def chat_reference_outcome(case: str, chat: ChatFacts | None, visibility_before: int, caller: Identity) -> Outcome:
    """The decision for ``threads_added`` / ``threads_removed`` (``case``) naming ``chat`` (None: not projected)."""
    if chat is None:
        return Outcome.NOTHING
    if case == "threads_added" and can_list_chat(chat, caller):
        return Outcome.ADDED
    if may_learn_chat_left(chat, visibility_before, caller):
        return Outcome.REMOVED
    return Outcome.NOTHING


def named_chat(update: Update) -> uuid.UUID | None:
    """The chat an artifact update names (None for the other cases, or an id that is not one)."""
    if not isinstance(update, artifacts_service_pb2.ArtifactUpdate):
        return None
    case = update.WhichOneof("update")
    if case == "threads_added":
        raw = update.threads_added.threads_id
    elif case == "threads_removed":
        raw = update.threads_removed.threads_id
    else:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


class ChatDirectory:
    """Reads the chats feed entries name, shared by every subscriber of the process (see the module docstring)."""

    def __init__(
        self,
        db: ConnectionPool,
        *,
        max_age: float = MAX_AGE_SECONDS,
        retries: int = _RETRIES,
        retry_wait: float = _RETRY_WAIT,
    ) -> None:
        self._db = db
        self._max_age = max_age
        self._retries = retries
        self._retry_wait = retry_wait
        self._known: OrderedDict[tuple[str, int], tuple[float, ChatFacts | None]] = OrderedDict()
        self._pending: dict[tuple[str, int], asyncio.Future[dict[int, ChatFacts | None]]] = {}
        self.reads = 0

    async def lookup(self, feed_key: str, named: dict[int, uuid.UUID]) -> dict[int, ChatFacts | None]:
        """The chat each entry (by ``seq``) of ``feed_key`` names, as it is now."""
        now = time.monotonic()
        found: dict[int, ChatFacts | None] = {}
        waiting: list[tuple[int, asyncio.Future[dict[int, ChatFacts | None]]]] = []
        missing: dict[int, uuid.UUID] = {}
        for seq, chat_id in named.items():
            key = (feed_key, seq)
            known = self._known.get(key)
            if known is not None and now - known[0] <= self._max_age:
                found[seq] = known[1]
            elif (pending := self._pending.get(key)) is not None:
                waiting.append((seq, pending))
            else:
                missing[seq] = chat_id
        if missing:
            load = asyncio.ensure_future(self._load(feed_key, missing))
            for seq in missing:
                self._pending[(feed_key, seq)] = load
            load.add_done_callback(lambda done: self._finished(feed_key, missing, done))
            waiting.extend((seq, load) for seq in missing)
        for seq, future in waiting:
            # Shielded: a stream cancelled while waiting must not cancel the read others wait for.
            found[seq] = (await asyncio.shield(future))[seq]
        return found

    async def _load(self, feed_key: str, named: dict[int, uuid.UUID]) -> dict[int, ChatFacts | None]:
        upto, ids = max(named), set(named.values())
        chats: dict[uuid.UUID, ChatFacts] = {}
        for attempt in range(self._retries + 1):
            self.reads += 1
            async with self._db.connection() as conn:
                head, chats = await reads.chat_facts(conn, feed_key, ids)
            if head >= upto and ids <= chats.keys():
                break
            if attempt == self._retries:
                _log.warning("feed %s names chats not in the read model: %s", feed_key, sorted(ids - chats.keys()))
                break
            await asyncio.sleep(self._retry_wait)
        return {seq: chats.get(chat_id) for seq, chat_id in named.items()}

    def _finished(
        self, feed_key: str, named: dict[int, uuid.UUID], done: asyncio.Future[dict[int, ChatFacts | None]]
    ) -> None:
        for seq in named:
            self._pending.pop((feed_key, seq), None)
        if done.cancelled() or done.exception() is not None:
            return  # not kept: the next subscriber reads again
        at = time.monotonic()
        for seq, chat in done.result().items():
            self._known[(feed_key, seq)] = (at, chat)
            self._known.move_to_end((feed_key, seq))
        while len(self._known) > _CAPACITY:
            self._known.popitem(last=False)


class UpdateScreen:
    """Decides, per subscriber, what becomes of the updates that name another resource."""

    def __init__(self, directory: ChatDirectory) -> None:
        self._directory = directory

    async def screen(self, entries: Sequence[FeedEntry], updates: Sequence[Update], caller: Identity) -> list[Update]:
        """What ``caller`` receives of ``updates`` (rendered from ``entries``, same order); never mutates them."""
        named: dict[int, uuid.UUID] = {}
        for entry, update in zip(entries, updates, strict=True):
            chat_id = named_chat(update)
            if chat_id is not None:
                named[entry.seq] = chat_id
        chats = await self._directory.lookup(entries[0].feed_key, named) if named else {}
        kept: list[Update] = []
        for entry, update in zip(entries, updates, strict=True):
            sent = self._one(entry, update, caller, chats)
            if sent is None:
                WITHHELD.inc()
            else:
                kept.append(sent)
        return kept

    @staticmethod
    def _one(entry: FeedEntry, update: Update, caller: Identity, chats: dict[int, ChatFacts | None]) -> Update | None:
        case = update.WhichOneof("update")
        if case in _NAMING_ARTIFACT:
            return update if entry.tenant_id == caller.tenant_id else None
        if case not in _NAMING_CHAT or not isinstance(update, artifacts_service_pb2.ArtifactUpdate):
            return update
        chat = chats.get(entry.seq)
        outcome = chat_reference_outcome(case, chat, entry.chat_visibility_before, caller)
        if outcome is Outcome.NOTHING or chat is None:
            return None
        if outcome is Outcome.REMOVED:
            return update if case == "threads_removed" else _removed(update)
        return _with_title(update, chat.title)


def _with_title(update: artifacts_service_pb2.ArtifactUpdate, title: str) -> artifacts_service_pb2.ArtifactUpdate:
    """``threads_added`` with the chat's current title (the rendered message is shared: a copy when it differs)."""
    if update.threads_added.threads_title == title:
        return update
    fresh = artifacts_service_pb2.ArtifactUpdate()
    fresh.CopyFrom(update)
    fresh.threads_added.threads_title = title
    return fresh


def _removed(update: artifacts_service_pb2.ArtifactUpdate) -> artifacts_service_pb2.ArtifactUpdate:
    """``threads_removed`` in place of ``threads_added``, at the same position, time and version."""
    removed = artifacts_service_pb2.ArtifactUpdate(
        threads_removed=artifacts_types_pb2.ChatReferenceRemoved(threads_id=update.threads_added.threads_id),
        checkpoint_token=update.checkpoint_token,
        version=update.version,
    )
    removed.timestamp.CopyFrom(update.timestamp)
    return removed
