"""Presence in real Redis: TTLs, explicit leave, typing timeout, one participant per user, tenants apart."""

from __future__ import annotations

from typing import Any

import pytest

from ameide_core_proto.live.v1 import live_types_pb2 as types
from ameide_runtime.identity import Identity
from tests.integration.query.live.conftest import Live

pytestmark = pytest.mark.integration

VIEWING, TYPING = types.PRESENCE_STATE_VIEWING, types.PRESENCE_STATE_TYPING
Kind = types.PresenceChange
ALICE = Identity("alice", "acme")
BOB = Identity("bob", "acme")


async def changes(live: Live, feed_key: str) -> list[tuple[Any, ...]]:
    """(tenant, user, kind, state, expired) of every presence signal, in order."""
    return [
        (s.tenant_id, s.update.presence_changed.participant.user_id, s.update.presence_changed.kind,
         s.update.presence_changed.participant.state, s.update.presence_changed.expired)
        for s in await live.signals(feed_key)
        if s.case == "presence_changed"
    ]  # fmt: skip


class TestAnnounceAndLeave:
    async def test_join_then_explicit_leave_are_announced(self, live: Live, chat: str) -> None:
        """A first announcement is JOINED, leaving with the last client is LEFT (not expired)."""
        announced = await live.presence.announce(chat, ALICE, "tab-1", VIEWING, "Alice")
        assert announced.state == VIEWING
        assert announced.expires_at_ms == int(live.clock() * 1000) + 30_000
        assert await live.presence.leave(chat, ALICE, "tab-1")
        assert await changes(live, chat) == [
            ("acme", "alice", Kind.KIND_JOINED, VIEWING, False),
            ("acme", "alice", Kind.KIND_LEFT, VIEWING, False),
        ]
        assert (await live.snapshots.read(chat, "acme")).participants == []

    async def test_leaving_twice_or_unknown_changes_nothing(self, live: Live, chat: str) -> None:
        """A client that is not present has nothing to leave."""
        assert not await live.presence.leave(chat, ALICE, "tab-9")
        assert await changes(live, chat) == []

    async def test_renewals_announce_nothing_new(self, live: Live, chat: str) -> None:
        """Heartbeats keep the participant without repeating JOINED."""
        for _ in range(3):
            await live.presence.announce(chat, ALICE, "tab-1", VIEWING, "Alice")
            live.clock.advance(10)
            await live.sweeper.sweep()
        assert [c[2] for c in await changes(live, chat)] == [Kind.KIND_JOINED]


class TestManyTabs:
    async def test_a_user_with_many_tabs_is_one_participant(self, live: Live, chat: str) -> None:
        """Two tabs join once; the first tab leaving changes nothing; the last one leaving is LEFT."""
        await live.presence.announce(chat, ALICE, "tab-1", VIEWING, "Alice")
        await live.presence.announce(chat, ALICE, "tab-2", VIEWING, "Alice")
        assert [p.user_id for p in (await live.snapshots.read(chat, "acme")).participants] == ["alice"]
        await live.presence.leave(chat, ALICE, "tab-1")
        assert [c[2] for c in await changes(live, chat)] == [Kind.KIND_JOINED]
        await live.presence.leave(chat, ALICE, "tab-2")
        assert [c[2] for c in await changes(live, chat)] == [Kind.KIND_JOINED, Kind.KIND_LEFT]

    async def test_typing_in_any_tab_is_typing(self, live: Live, chat: str) -> None:
        """One tab typing makes the user typing; that tab switching back to viewing stops it."""
        await live.presence.announce(chat, ALICE, "tab-1", VIEWING, "Alice")
        await live.presence.announce(chat, ALICE, "tab-2", TYPING, "Alice")
        await live.presence.announce(chat, ALICE, "tab-1", VIEWING, "Alice")
        await live.presence.announce(chat, ALICE, "tab-2", VIEWING, "Alice")
        assert [c[2] for c in await changes(live, chat)] == [
            Kind.KIND_JOINED, Kind.KIND_TYPING_STARTED, Kind.KIND_TYPING_STOPPED
        ]  # fmt: skip

    async def test_the_user_leaves_when_the_last_tab_expires(self, live: Live, chat: str) -> None:
        """A tab that stops renewing expires; the user stays while the other renews."""
        await live.presence.announce(chat, ALICE, "tab-1", VIEWING, "Alice")
        await live.presence.announce(chat, ALICE, "tab-2", VIEWING, "Alice")
        for _ in range(4):  # tab-2 renews every 10 s, tab-1 never again
            live.clock.advance(10)
            await live.presence.announce(chat, ALICE, "tab-2", VIEWING, "Alice")
            await live.sweeper.sweep()
        assert [c[2] for c in await changes(live, chat)] == [Kind.KIND_JOINED]
        live.clock.advance(31)
        assert await live.sweeper.sweep() == 1
        assert [c[2:] for c in await changes(live, chat)] == [
            (Kind.KIND_JOINED, VIEWING, False), (Kind.KIND_LEFT, VIEWING, True)
        ]  # fmt: skip


class TestExpiry:
    async def test_viewing_expires_after_its_ttl(self, live: Live, chat: str) -> None:
        """Nothing is due before 30 s; after it the sweeper announces LEFT (expired)."""
        await live.presence.announce(chat, ALICE, "tab-1", VIEWING, "Alice")
        live.clock.advance(29.9)
        assert await live.sweeper.sweep() == 0
        live.clock.advance(0.2)
        assert await live.sweeper.sweep() == 1
        assert (await changes(live, chat))[-1] == ("acme", "alice", Kind.KIND_LEFT, VIEWING, True)
        assert await live.presence.next_due_ms() is None

    async def test_typing_times_out_then_viewing_expires(self, live: Live, chat: str) -> None:
        """Typing stops after 6 s without renewal (expired), the user stays until the viewing TTL."""
        await live.presence.announce(chat, ALICE, "tab-1", TYPING, "Alice")
        assert await live.presence.next_due_ms() == int(live.clock() * 1000) + 6000
        live.clock.advance(6.1)
        await live.sweeper.sweep()
        participants = (await live.snapshots.read(chat, "acme")).participants
        assert [(p.user_id, p.state) for p in participants] == [("alice", VIEWING)]
        live.clock.advance(24)
        await live.sweeper.sweep()
        assert [c[2:] for c in await changes(live, chat)] == [
            (Kind.KIND_JOINED, TYPING, False), (Kind.KIND_TYPING_STOPPED, VIEWING, True),
            (Kind.KIND_LEFT, VIEWING, True),
        ]  # fmt: skip

    async def test_the_sweeper_sleeps_until_the_earliest_deadline(self, live: Live, chat: str) -> None:
        """Never longer than the shortest TTL (a deadline filed later is at least that far off)."""
        assert await live.sweeper.seconds_until_due() == 6.0
        await live.presence.announce(chat, ALICE, "tab-1", TYPING, "Alice")
        live.clock.advance(2)
        assert await live.sweeper.seconds_until_due() == pytest.approx(4.0)

    async def test_expired_keys_leave_nothing_behind(self, live: Live, chat: str) -> None:
        """After the last LEFT no presence key of the resource remains."""
        await live.presence.announce(chat, ALICE, "tab-1", VIEWING, "Alice")
        live.clock.advance(31)
        await live.sweeper.sweep()
        leftovers = [key async for key in live.redis.scan_iter(match=f"{live.prefix}presence:*")]
        assert leftovers == []


class TestIsolation:
    async def test_tenants_see_only_their_own_participants(self, live: Live, chat: str) -> None:
        """The same user id in two tenants: two presences, each visible to its own tenant only."""
        await live.presence.announce(chat, ALICE, "tab-1", VIEWING, "Alice of acme")
        await live.presence.announce(chat, Identity("alice", "globex"), "tab-1", TYPING, "Alice of globex")
        acme = (await live.snapshots.read(chat, "acme")).participants
        globex = (await live.snapshots.read(chat, "globex")).participants
        assert [(p.display_name, p.state) for p in acme] == [("Alice of acme", VIEWING)]
        assert [(p.display_name, p.state) for p in globex] == [("Alice of globex", TYPING)]
        assert [c[0] for c in await changes(live, chat)] == ["acme", "globex"]

    async def test_resources_are_apart(self, live: Live, chat: str, artifact: str) -> None:
        """Presence on a chat says nothing about an artifact."""
        await live.presence.announce(chat, ALICE, "tab-1", VIEWING, "Alice")
        await live.presence.announce(artifact, BOB, "tab-1", VIEWING, "Bob")
        assert [p.user_id for p in (await live.snapshots.read(artifact, "acme")).participants] == ["bob"]
        assert [c[1] for c in await changes(live, artifact)] == ["bob"]


class TestSnapshot:
    async def test_snapshot_names_the_last_signal_it_includes(self, live: Live, chat: str) -> None:
        """Every signal after the snapshot's last id is a change to it; none at or before."""
        await live.presence.announce(chat, ALICE, "tab-1", VIEWING, "Alice")
        snapshot = await live.snapshots.read(chat, "acme")
        await live.presence.announce(chat, BOB, "tab-1", TYPING, "Bob")
        after = [s for s in await live.signals(chat) if s.entry_id > snapshot.last_id]
        assert [s.update.presence_changed.participant.user_id for s in after] == ["bob"]
        assert snapshot.epoch == await live.snapshots.epoch()

    async def test_a_user_may_rename_themself(self, live: Live, chat: str) -> None:
        """The newest display name wins, without a change signal."""
        await live.presence.announce(chat, ALICE, "tab-1", VIEWING, "Alice")
        await live.presence.announce(chat, ALICE, "tab-1", VIEWING, "Alice L.")
        assert [p.display_name for p in (await live.snapshots.read(chat, "acme")).participants] == ["Alice L."]
