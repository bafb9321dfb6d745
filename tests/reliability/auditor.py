"""The auditor: after every scenario, compare the event log, the read model, rm_feed and what clients were told.

Promises checked (design.md sections 4-7):

- every acknowledged write is in the log exactly once, with the ids its client was told (``lost``,
  ``duplicated``, ``mismatched``); an unacknowledged write is all or nothing (``half_applied``);
- the log is well formed: contiguous stream versions, heads that match, creation first, nothing after a deletion,
  both sides of every link and unlink recorded by the same request, message ids unique;
- the projector has applied everything (outbox drained, nothing parked) and the read model equals a fresh
  rebuild from the log (the projector's own rebuild code, into a scratch schema, compared row by row);
- rm_feed is gapless with matching heads, carries exactly one update per stored message in message order, and
  Redis holds the same entries at the same sequence numbers;
- every acknowledged message is returned exactly once by a page walk through the query service;
- every stream follower ended with no gap and received every message update of its feed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_readmodel.feed.names import chat_feed
from tests.reliability import rel_modelcheck as model
from tests.reliability.rel_client import Stubs
from tests.reliability.rel_load import Ledger
from tests.reliability.rel_logcheck import check_ledger, check_log
from tests.reliability.rel_streams import Follower


@dataclasses.dataclass
class Verdict:
    """What the auditor found; ``ok`` only when every list is empty."""

    acked: int = 0
    unresolved: list[str] = dataclasses.field(default_factory=list)
    lost: list[str] = dataclasses.field(default_factory=list)
    duplicated: list[str] = dataclasses.field(default_factory=list)
    mismatched: list[str] = dataclasses.field(default_factory=list)
    half_applied: list[str] = dataclasses.field(default_factory=list)
    log: list[str] = dataclasses.field(default_factory=list)
    projection: list[str] = dataclasses.field(default_factory=list)
    rebuild: list[str] = dataclasses.field(default_factory=list)
    feed: list[str] = dataclasses.field(default_factory=list)
    invisible: list[str] = dataclasses.field(default_factory=list)
    streams: list[str] = dataclasses.field(default_factory=list)

    def problems(self) -> dict[str, list[str]]:
        """Every non-empty finding, by kind."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "acked" and getattr(self, f.name)
        }

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.problems()

    def report(self) -> str:
        """A readable summary (the first findings of each kind)."""
        lines = [f"auditor: {self.acked} acknowledged writes checked"]
        for kind, found in self.problems().items():
            lines.append(f"  {kind}: {len(found)}")
            lines += [f"    - {item}" for item in found[:8]]
        return "\n".join(lines)


class Auditor:
    """Audits one database as the clients of a scenario saw it."""

    def __init__(self, engine: AsyncEngine, stubs: Stubs, redis_url: str) -> None:
        self._engine = engine
        self._stubs = stubs
        self._redis_url = redis_url

    async def audit(
        self,
        ledger: Ledger,
        *,
        followers: Sequence[Follower] = (),
        redis_up: bool = True,
        allow_unresolved: bool = False,
    ) -> Verdict:
        """Wait until the projector has caught up (bounded), then check every promise."""
        verdict = Verdict(acked=len(ledger.acked()))
        if not allow_unresolved:
            verdict.unresolved = [f"{op.kind} {op.key} never acknowledged" for op in ledger.unresolved()]
        verdict.projection = await model.wait_drained(self._engine, redis_up=redis_up)
        async with self._engine.connect() as conn:
            found = await check_ledger(conn, ledger)
            verdict.log = await check_log(conn)
        verdict.lost, verdict.duplicated = found.lost, found.duplicated
        verdict.mismatched, verdict.half_applied = found.mismatched, found.half_applied
        verdict.rebuild = await model.compare_with_rebuild(self._engine)
        verdict.feed = await model.check_feed(self._engine)
        if redis_up:
            verdict.feed += await model.check_redis(self._engine, self._redis_url)
        verdict.invisible = await model.check_visible(self._engine, self._stubs, ledger)
        for follower in followers:
            verdict.streams += await self._check_follower(follower)
        return verdict

    async def _check_follower(self, follower: Follower) -> list[str]:
        feed = chat_feed(follower.chat_id)
        head = await model.feed_head(self._engine, feed)
        if not await follower.wait_for(head):
            return [f"follower of {follower.chat_id} stuck at {follower.last_seq} of {head}"]
        expected = await model.feed_message_ids(self._engine, feed, follower.start_seq)
        problems = [f"follower of {follower.chat_id}: gap {gap}" for gap in follower.gaps]
        if follower.message_ids != expected:
            problems.append(
                f"follower of {follower.chat_id}: received {len(follower.message_ids)} messages, feed has "
                f"{len(expected)} after seq {follower.start_seq}"
            )
        return problems
