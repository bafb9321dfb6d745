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

The chat is read from ``rm_chats`` when the update is sent: once for every subscriber an entry goes to at about
the same time (``max_age``), once per replayed page, never once per subscriber. The same statement reads the
feed's head: a read serves an entry only if its snapshot holds the entry, and a snapshot behind it (a read replica)
or without the chat (a chat created in the same command, whose own projection is still on its way) is asked again
for a moment. Only the subscriber that needs it waits.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

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
_SCREENED = _NAMING_CHAT | _NAMING_ARTIFACT

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


@dataclass(frozen=True, slots=True)
class _Read:
    """A chat as read from one snapshot: when, the feed's head in that snapshot, and the chat (None: not there)."""

    at: float
    head: int
    chat: ChatFacts | None


class ChatDirectory:
    """Reads the chats feed entries name, shared by every subscriber of the process (see the module docstring).

    What is known of a chat on a feed serves an entry when it was read from a snapshot holding that entry (the
    feed's head there at or above its sequence: the chat is at least as new as the entry) within ``max_age``.
    """

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
        self._known: OrderedDict[tuple[str, uuid.UUID], _Read] = OrderedDict()
        # A read in flight for (feed, chat): the sequence its snapshot will hold at least, and its result.
        self._pending: dict[tuple[str, uuid.UUID], tuple[int, asyncio.Future[dict[uuid.UUID, _Read]]]] = {}

    async def lookup(self, feed_key: str, named: dict[int, uuid.UUID]) -> dict[int, ChatFacts | None]:
        """The chat each entry (by ``seq``) of ``feed_key`` names, as it is now."""
        upto: dict[uuid.UUID, int] = {}
        for seq, chat_id in named.items():
            upto[chat_id] = max(upto.get(chat_id, 0), seq)
        now = time.monotonic()
        chats: dict[uuid.UUID, ChatFacts | None] = {}
        waiting: list[tuple[uuid.UUID, asyncio.Future[dict[uuid.UUID, _Read]]]] = []
        missing: dict[uuid.UUID, int] = {}
        for chat_id, seq in upto.items():
            known = self._known.get((feed_key, chat_id))
            if known is not None and known.head >= seq and now - known.at <= self._max_age:
                chats[chat_id] = known.chat
            elif (pending := self._pending.get((feed_key, chat_id))) is not None and pending[0] >= seq:
                waiting.append((chat_id, pending[1]))
            else:
                missing[chat_id] = seq
        if missing:
            least = max(missing.values())
            load = asyncio.ensure_future(self._load(feed_key, least, set(missing)))
            for chat_id in missing:
                self._pending[(feed_key, chat_id)] = (least, load)
            load.add_done_callback(lambda done: self._finished(feed_key, list(missing), done))
            waiting.extend((chat_id, load) for chat_id in missing)
        for chat_id, future in waiting:
            # Shielded: a stream cancelled while waiting must not cancel the read others wait for.
            chats[chat_id] = (await asyncio.shield(future))[chat_id].chat
        return {seq: chats[chat_id] for seq, chat_id in named.items()}

    async def _load(self, feed_key: str, upto: int, ids: set[uuid.UUID]) -> dict[uuid.UUID, _Read]:
        head, found = 0, dict[uuid.UUID, ChatFacts]()
        for attempt in range(self._retries + 1):
            async with self._db.connection() as conn:
                head, found = await reads.chat_facts(conn, feed_key, ids)
            if head >= upto and ids <= found.keys():
                break
            if attempt == self._retries:
                _log.warning("feed %s names chats not in the read model: %s", feed_key, sorted(ids - found.keys()))
                break
            await asyncio.sleep(self._retry_wait)
        at = time.monotonic()
        return {chat_id: _Read(at, head, found.get(chat_id)) for chat_id in ids}

    def _finished(self, feed_key: str, chat_ids: list[uuid.UUID], done: asyncio.Future[dict[uuid.UUID, _Read]]) -> None:
        for chat_id in chat_ids:
            pending = self._pending.get((feed_key, chat_id))
            if pending is not None and pending[1] is done:
                del self._pending[(feed_key, chat_id)]
        if done.cancelled() or done.exception() is not None:
            return  # not kept: the next subscriber reads again
        for chat_id, read in done.result().items():
            key = (feed_key, chat_id)
            known = self._known.get(key)
            if known is None or read.head >= known.head:
                self._known[key] = read
                self._known.move_to_end(key)
        while len(self._known) > _CAPACITY:
            self._known.popitem(last=False)


class UpdateScreen:
    """Decides, per subscriber, what becomes of the updates that name another resource."""

    def __init__(self, directory: ChatDirectory) -> None:
        self._directory = directory

    async def screen(
        self, entries: Sequence[FeedEntry], updates: Sequence[Update], caller: Identity
    ) -> list[Update | None]:
        """What ``caller`` receives of each of ``updates`` (rendered from ``entries``, same order; None: withheld).

        The rendered updates are shared between subscribers: never mutated, a changed one is a copy.
        """
        cases = [update.WhichOneof("update") for update in updates]
        if _SCREENED.isdisjoint(cases):
            return list(updates)  # the common page: messages, content, metadata name nothing
        named: dict[int, uuid.UUID] = {}
        for entry, update, case in zip(entries, updates, cases, strict=True):
            if case in _NAMING_CHAT and (chat_id := named_chat(update)) is not None:
                named[entry.seq] = chat_id
        chats = await self._directory.lookup(entries[0].feed_key, named) if named else {}
        screened: list[Update | None] = []
        for entry, update, case in zip(entries, updates, cases, strict=True):
            sent = self._one(entry, update, case, caller, chats) if case in _SCREENED else update
            if sent is None:
                WITHHELD.inc()
            screened.append(sent)
        return screened

    @staticmethod
    def _one(
        entry: FeedEntry, update: Update, case: str, caller: Identity, chats: dict[int, ChatFacts | None]
    ) -> Update | None:
        if case in _NAMING_ARTIFACT:
            return update if entry.tenant_id == caller.tenant_id else None
        if not isinstance(update, artifacts_service_pb2.ArtifactUpdate):
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
