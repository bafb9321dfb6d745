"""Draft assistant messages in Redis: opened, grown delta by delta, completed or abandoned, expired by deadline.

Each operation is one script (``lua/draft_*.lua``) that checks the caller owns the draft, changes it and appends
the signal announcing the change, so a delta is applied and announced exactly once whatever the retries. A draft
whose agent goes quiet for the TTL is abandoned by the sweeper (``expire``). An ended draft is kept for
``ENDED_RETENTION_MS`` so that a retried completion gets the same answer and a resynchronising subscriber learns
how it ended.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

from ameide_query.live import keys
from ameide_query.live.clock import Clock, millis, wall_clock
from ameide_query.live.presence import STREAM_MAXLEN, STREAM_TTL_MS, first_score
from ameide_query.live.scripts import Scripts, run
from ameide_runtime.identity import Identity

ENDED_RETENTION_MS = 600 * 1000


@dataclass(frozen=True, slots=True)
class Opened:
    """StartDraft's outcome: ``status`` is active, completing, completed, abandoned or reused."""

    status: str
    seq: int
    deadline_ms: int


@dataclass(frozen=True, slots=True)
class Appended:
    """AppendDraft's outcome: ``status`` is ok, not_found, ended, gap or too_large; ``seq`` the last applied."""

    status: str
    seq: int


@dataclass(frozen=True, slots=True)
class Completing:
    """CompleteDraft's first step, and the draft's chat (``threads_id``).

    ``status`` is sending (``value``: the text to send), completed (``value``: the stored answer), not_found,
    ended or empty.
    """

    status: str
    value: bytes
    threads_id: str


@dataclass(frozen=True, slots=True)
class DraftState:
    """A draft as a resynchronising subscriber reads it (``state`` is empty once it is gone)."""

    state: str
    agent_id: str
    user_id: str
    started_ms: int
    seq: int
    text: str
    message_id: str
    message_sequence: int
    feed_head: int
    reason: int


class DraftStore:
    """The draft operations; a draft belongs to the caller who started it (tenant and user)."""

    def __init__(
        self,
        redis: Redis,
        scripts: Scripts,
        *,
        ttl_seconds: float,
        clock: Clock = wall_clock,
        prefix: str = keys.KEY_PREFIX,
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self._clock = clock
        self._prefix = prefix

    def _draft(self, draft_id: str) -> str:
        return keys.draft_key(draft_id, self._prefix)

    async def start(self, draft_id: str, caller: Identity, threads_id: str, feed_key: str, agent_id: str) -> Opened:
        """Open the draft, or find it again (same caller, chat and agent)."""
        key_list = [
            self._draft(draft_id), keys.drafts_key(feed_key, self._prefix), keys.drafts_due_key(self._prefix),
            keys.signals_key(feed_key, self._prefix), keys.epoch_key(self._prefix),
        ]  # fmt: skip
        args = [
            millis(self._clock), draft_id, threads_id, feed_key, caller.tenant_id, caller.user_id, agent_id,
            self.ttl_ms, STREAM_MAXLEN, STREAM_TTL_MS, ENDED_RETENTION_MS, secrets.token_hex(8),
        ]  # fmt: skip
        status, seq, deadline = await run(self._scripts.draft_start, key_list, args)
        return Opened(_text(status), int(seq), int(deadline))

    async def append(self, draft_id: str, caller: Identity, seq: int, text: str, max_bytes: int) -> Appended:
        """Apply delta ``seq`` (0 = the next) once."""
        args = [
            millis(self._clock), draft_id, caller.tenant_id, caller.user_id, seq, text, max_bytes, self.ttl_ms,
            self._prefix,
            STREAM_MAXLEN, STREAM_TTL_MS, ENDED_RETENTION_MS,
        ]  # fmt: skip
        key_list = [self._draft(draft_id), keys.drafts_due_key(self._prefix)]
        status, last = await run(self._scripts.draft_append, key_list, args)
        return Appended(_text(status), int(last))

    async def begin_complete(self, draft_id: str, caller: Identity) -> Completing:
        """Freeze the draft for sending (or find its stored completion)."""
        args = [millis(self._clock), draft_id, caller.tenant_id, caller.user_id, self.ttl_ms, ENDED_RETENTION_MS]
        key_list = [self._draft(draft_id), keys.drafts_due_key(self._prefix)]
        status, value, chat = await run(self._scripts.draft_begin_complete, key_list, args)
        return Completing(_text(status), bytes(value), _text(chat))

    async def finish_complete(
        self, draft_id: str, answer: bytes, message_id: str, message_sequence: int, feed_head: int
    ) -> bool:
        """Store the completion and announce it; False when another call already had."""
        args = [
            draft_id, answer, message_id, message_sequence, feed_head, self._prefix, STREAM_MAXLEN, STREAM_TTL_MS,
            ENDED_RETENTION_MS,
        ]  # fmt: skip
        return bool(await run(self._scripts.draft_finish_complete, [self._draft(draft_id)], args))

    async def reopen(self, draft_id: str) -> None:
        """The message could not be sent: the draft takes deltas again."""
        args = [millis(self._clock), draft_id, self.ttl_ms, ENDED_RETENTION_MS]
        await run(self._scripts.draft_reopen, [self._draft(draft_id), keys.drafts_due_key(self._prefix)], args)

    async def abandon(self, draft_id: str, caller: Identity, detail: str) -> str:
        """Abandon the draft: ok, not_found or ended."""
        args = [
            draft_id, caller.tenant_id, caller.user_id, detail, self._prefix, STREAM_MAXLEN, STREAM_TTL_MS,
            ENDED_RETENTION_MS,
        ]  # fmt: skip
        return _text(await run(self._scripts.draft_abandon, [self._draft(draft_id)], args))

    async def read(self, draft_id: str) -> DraftState:
        """The draft's current state (for a subscriber catching up with it)."""
        state, agent, user, started, seq, text, message, message_seq, head, reason = await run(
            self._scripts.draft_read, [self._draft(draft_id)], []
        )
        return DraftState(
            _text(state), _text(agent), _text(user), int(started), int(seq), _text(text), _text(message),
            int(message_seq), int(head), int(reason),
        )  # fmt: skip

    async def expire(self, limit: int = 100) -> int:
        """Abandon up to ``limit`` drafts past their deadline; how many expired."""
        args = [millis(self._clock), limit, self._prefix, STREAM_MAXLEN, STREAM_TTL_MS, ENDED_RETENTION_MS]
        return int(await run(self._scripts.expire_drafts, [keys.drafts_due_key(self._prefix)], args))

    async def next_due_ms(self) -> int | None:
        """When the earliest draft deadline is (ms), if any draft is open."""
        return await first_score(self._redis, keys.drafts_due_key(self._prefix))


def _text(value: bytes | str | int) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
