"""What screening stream updates per subscriber costs (``ameide_query.streams.screening``), beside its baselines.

Three figures, each with a baseline measured in the same run, interleaved round by round:

- the hot path: a page of chat messages rendered and screened (messages name nothing: a case test each) against the
  same page only rendered, as before screening existed;
- a chat's link sent to many subscribers of one artifact at once: every subscriber screens it through the shared
  chat directory (one ``rm_chats`` read for all), against each subscriber reading the chat itself with the unary
  reads' access check (one query per subscriber);
- a replayed page of chat references: screened with one read for the page, against one read per entry.

The query service's own code runs in this process over a scratch database; no gRPC (its cost is the same for a
screened update and any other).
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from ameide_bench.eventstore import scratch_database
from ameide_bench.report import Row
from ameide_bench.streams import TENANT, seed_chats
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as arts
from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_query.streams.kinds import FeedKind, artifact_kind, chat_kind
from ameide_query.streams.rendering import Renderer
from ameide_query.streams.screening import ChatDirectory, UpdateScreen
from ameide_query.views import access
from ameide_query.views.db import ReadPool
from ameide_readmodel.feed.entries import FeedEntry
from ameide_readmodel.feed.tables import rm_feed_heads
from ameide_runtime.identity import Identity
from ameide_runtime.tokens import TokenCodec

# The artifact feed the chat references are on: its head is above every entry used (a read's snapshot holds them).
FEED = f"artifact:{uuid.UUID(int=1)}"
PAGE = 200
SUBSCRIBERS = 100
CALLER = Identity("member", TENANT)


def _messages(feed: str) -> list[FeedEntry]:
    at = datetime.now(UTC)
    entries = []
    for seq in range(1, PAGE + 1):
        update = chats.ChatUpdate()
        update.message.id = str(uuid.uuid4())
        update.message.parts.add().text.text = "hello " * 20
        entries.append(FeedEntry(feed, TENANT, update.SerializeToString(), at, seq))
    return entries


def _references(feed: str, chat_ids: list[uuid.UUID]) -> list[FeedEntry]:
    at = datetime.now(UTC)
    entries = []
    for seq, chat_id in enumerate(chat_ids, start=1):
        update = arts.ArtifactUpdate(version=1)
        update.threads_added.threads_id = str(chat_id)
        update.threads_added.threads_title = "bench"
        entries.append(FeedEntry(feed, TENANT, update.SerializeToString(), at, seq))
    return entries


async def _seed(url: str, count: int) -> list[uuid.UUID]:
    """TEAM chats of the tenant, and the feed head of the benchmark's artifact feed above every entry used here."""
    engine = create_async_engine(url)
    ids = await seed_chats(engine, count)
    async with engine.begin() as conn:
        await conn.execute(insert(rm_feed_heads).values(feed_key=FEED, tenant_id=TENANT, seq=PAGE))
    await engine.dispose()
    return ids


async def _best(rounds: int, work: Callable[[], Awaitable[None]]) -> list[float]:
    """Seconds of each round of ``work``."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await work()
        times.append(time.perf_counter() - start)
    return times


async def run(database_url: str, redis_url: str, *, quick: bool) -> list[Row]:
    """Measure the three figures (see the module docstring); return the table rows."""
    del redis_url  # no Redis: entries are handed to the screen directly
    rounds = 5 if quick else 20
    codec = TokenCodec(b"bench-screening-secret-0123456789")
    async with scratch_database(database_url) as url:
        chat_ids = await _seed(url, PAGE)
        pool = ReadPool(url, size=SUBSCRIBERS, timeout=30)
        try:
            return await _measure(pool, codec, chat_ids, rounds)
        finally:
            await pool.close()


async def _measure(pool: ReadPool, codec: TokenCodec, chat_ids: list[uuid.UUID], rounds: int) -> list[Row]:
    renderer = Renderer(codec)

    def screen_of() -> UpdateScreen:
        return UpdateScreen(ChatDirectory(pool))  # a fresh directory: nothing cached from an earlier round

    messages, kind = _messages(f"thread:{uuid.uuid4()}"), chat_kind(access)
    for entry in messages:
        renderer.render(kind, entry, TENANT)  # as for a live page: rendered once, shared by the subscribers
    screen = screen_of()
    plain: list[float] = []
    screened: list[float] = []
    fan: list[float] = []
    naive: list[float] = []
    page_read: list[float] = []
    entry_reads: list[float] = []
    for _ in range(rounds):
        plain += await _best(1, _page(renderer, kind, messages, None))
        screened += await _best(1, _page(renderer, kind, messages, screen))
        link = _references(FEED, chat_ids[:1])
        fan += await _best(1, _fan_out(renderer, link, screen_of()))
        naive += await _best(1, _each_reads(pool, chat_ids[0]))
        page = _references(FEED, chat_ids)
        page_read += await _best(1, _fan_out(renderer, page, screen_of(), subscribers=1))
        entry_reads += await _best(1, _each_entry_reads(renderer, page, pool))
    per_entry = 1e6 / PAGE
    return [
        _row(f"screen a page of {PAGE} chat messages (render + screen)", screened, "render only (before screening)",
             plain, unit="us/entry", scale=per_entry, note="the hot path: a message names nothing"),
        _row(f"a chat link screened for {SUBSCRIBERS} subscribers at once (shared read)", fan,
             "each subscriber reads the chat itself", naive, note=f"1 rm_chats read vs {SUBSCRIBERS} queries"),
        _row(f"a replayed page of {PAGE} chat links screened (one read)", page_read, "one read per entry",
             entry_reads),
    ]  # fmt: skip


def _row(
    name: str, times: list[float], baseline: str, baseline_times: list[float], *, unit: str = "ms",
    scale: float = 1e3, note: str = "",
) -> Row:  # fmt: skip
    """A figure and its baseline: the medians of their rounds, in ``unit`` (seconds times ``scale``)."""
    return Row(name, statistics.median(times) * scale, unit, baseline, statistics.median(baseline_times) * scale,
               note=note)  # fmt: skip


def _page(
    renderer: Renderer, kind: FeedKind, entries: list[FeedEntry], screen: UpdateScreen | None
) -> Callable[[], Awaitable[None]]:
    """A live page as a session sends it: rendered, then screened (``screen`` None: as before screening)."""

    async def work() -> None:
        updates = [renderer.render(kind, entry, TENANT) for entry in entries]
        if screen is not None:
            await screen.screen(entries, updates, CALLER)

    return work


def _fan_out(
    renderer: Renderer, entries: list[FeedEntry], screen: UpdateScreen, *, subscribers: int = SUBSCRIBERS
) -> Callable[[], Awaitable[None]]:
    kind = artifact_kind(access)

    async def one(user: int) -> None:
        updates = [renderer.render(kind, entry, TENANT) for entry in entries]
        await screen.screen(entries, updates, Identity(f"member-{user}", TENANT))

    async def work() -> None:
        await asyncio.gather(*(one(user) for user in range(subscribers)))

    return work


def _each_reads(pool: ReadPool, chat_id: uuid.UUID) -> Callable[[], Awaitable[None]]:
    async def one(user: int) -> None:
        async with pool.connection() as conn:
            await access.readable_chat(conn, Identity(f"member-{user}", TENANT), chat_id)

    async def work() -> None:
        await asyncio.gather(*(one(user) for user in range(SUBSCRIBERS)))

    return work


def _each_entry_reads(renderer: Renderer, entries: list[FeedEntry], pool: ReadPool) -> Callable[[], Awaitable[None]]:
    kind = artifact_kind(access)

    async def work() -> None:
        screen = UpdateScreen(ChatDirectory(pool))
        for entry in entries:
            await screen.screen([entry], [renderer.render(kind, entry, TENANT)], CALLER)

    return work
