"""Live signals in the app: who else is here and typing, and assistant drafts growing into their message.

Two tabs are two users of one tenant (``alice`` and ``bob``); an agent's draft is written from the test with the
DraftService's unary calls as alice (an agent acts with the credentials of the user it answers). What a tab shows is
read through the hooks ``presence-item`` (``data-user-id``, ``data-state``), ``typing-indicator`` and ``draft``
(``data-draft-id``, its text the draft so far). The harness's stack has a short presence TTL (tests/browser/conftest.py
``LIVE_TTLS``), so a tab that vanishes without leaving is gone within a test's wait.

Measured (reported, never asserted): a draft delta's AppendDraft to its render in the tab, and a presence change's
AnnouncePresence to its render, each beside the call's own round trip in the same run.
"""

from __future__ import annotations

import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.acceptance.acc_backend import (
    LEFT,
    PUBLIC,
    TEAM,
    TYPING,
    VIEWING,
    Backend,
    PresenceWatch,
    message_text,
)
from tests.browser.acceptance.acc_page import App, marker
from tests.browser.acceptance.acc_report import record_samples
from tests.browser.acceptance.conftest import MakeBackend, OpenApp
from tests.browser.conftest import LIVE_TTLS

pytestmark = pytest.mark.browser

DELTAS = 30
PRESENCE_CHANGES = 20
# A tab cut off cannot leave: it is gone once the viewing TTL runs out (plus the services' sweep and the stream).
VANISHED_MS = (float(LIVE_TTLS["AMEIDE_PRESENCE_VIEWING_TTL_SECONDS"]) + 20) * 1000


def now_ms() -> float:
    """Wall-clock ms, the clock the page's ``Date.now()`` reads too."""
    return time.time() * 1000


def shared_chat(alice: Backend, *, visibility: int = TEAM) -> tuple[str, str]:
    """An artifact and a chat about it that alice's colleagues may read and write: (artifact id, chat id)."""
    artifact_id = alice.create_artifact(f"Onboarding {marker()}")
    chat_id = alice.create_chat(f"Onboarding chat {marker()}", artifact_id=artifact_id, visibility=visibility)
    alice.send(chat_id, f"opening {marker()}")
    return artifact_id, chat_id


def open_on(open_app: OpenApp, user: str, path: str, chat_id: str, tenant: str | None = None) -> App:
    """A tab of ``user`` on ``path``, live, with ``chat_id`` shown (selected on an artifact page)."""
    app = open_app(user, tenant)
    app.goto(path)
    app.expect_live()
    if path.startswith("/artifact/"):
        app.select_chat(chat_id)
    return app


def expect_present(app: App, user_id: str, state: str) -> None:
    """``app`` shows ``user_id`` present in ``state``."""
    expect(app.presence_item(user_id)).to_have_count(1)
    expect(app.presence_item(user_id)).to_have_attribute("data-state", state)


@pytest.mark.parametrize("route", ["threads", "artifact"])
def test_two_users_see_each_other_and_who_is_typing(open_app: OpenApp, backend: MakeBackend, route: str) -> None:
    """Alice and Bob on one chat see each other (never themselves); Alice typing shows on Bob's page, then stops."""
    artifact_id, chat_id = shared_chat(backend())
    path = f"/threads/{chat_id}" if route == "threads" else f"/artifact/{artifact_id}"
    a, b = open_on(open_app, "alice", path, chat_id), open_on(open_app, "bob", path, chat_id)
    expect_present(a, "bob", "viewing")
    expect_present(b, "alice", "viewing")
    expect(a.presence_item("alice")).to_have_count(0)
    expect(b.presence_item("bob")).to_have_count(0)
    expect(b.hook("typing-indicator")).to_have_count(0)

    a.type_message(f"a thought {marker()}")
    expect_present(b, "alice", "typing")
    expect(b.hook("typing-indicator")).to_contain_text("alice")
    expect(a.hook("typing-indicator")).to_have_count(0)

    a.type_message("")  # cleared: no longer typing
    expect_present(b, "alice", "viewing")
    expect(b.hook("typing-indicator")).to_have_count(0)

    sent = f"said {marker()}"
    a.type_message(sent)
    expect_present(b, "alice", "typing")
    a.hook("send-button").click()
    expect(b.message(sent)).to_have_count(1)
    expect_present(b, "alice", "viewing")


def test_presence_goes_when_a_tab_leaves_or_vanishes(open_app: OpenApp, backend: MakeBackend) -> None:
    """A tab that navigates away leaves (said, not expired); one cut off the network is gone once its TTL runs out.

    How each went is read from the chat's presence changes (``expired``), as a subscriber of the tenant sees them.
    """
    owner = backend()
    _, chat_id = shared_chat(owner)
    path = f"/threads/{chat_id}"
    watch = PresenceWatch(owner, chat_id)
    try:
        watch.wait_started()
        watcher = open_on(open_app, "dev-user", path, chat_id)
        leaving, vanishing = open_on(open_app, "alice", path, chat_id), open_on(open_app, "bob", path, chat_id)
        expect_present(watcher, "alice", "viewing")
        expect_present(watcher, "bob", "viewing")

        leaving.goto("/")  # the page hides: it leaves with a keepalive request
        expect(watcher.presence_item("alice")).to_have_count(0)
        assert not watch.wait_for(LEFT, "alice").expired, "the tab that left did not say so"

        vanishing.tab.cut()
        expect(watcher.presence_item("bob")).to_have_count(0, timeout=VANISHED_MS)
        assert watch.wait_for(LEFT, "bob").expired
        expect(watcher.hook("live-status")).to_have_text("live")
    finally:
        watch.close()


def test_a_public_chats_reader_of_another_tenant_is_not_revealed(
    open_app: OpenApp, backend: MakeBackend, tenant: str
) -> None:
    """A reader of another tenant on alice's PUBLIC chat: alice's tenant never sees them, and they see none of it."""
    _, chat_id = shared_chat(backend(), visibility=PUBLIC)
    path = f"/threads/{chat_id}"
    owner = open_on(open_app, "alice", path, chat_id)
    stranger = f"reader-{uuid.uuid4().hex[:8]}"  # a name found nowhere else on the pages
    outsider = open_app(stranger, f"outside-{uuid.uuid4().hex[:8]}")
    with outsider.page.expect_response(lambda response: response.url.endswith("/AnnouncePresence")):
        outsider.goto(path)
    outsider.expect_live()
    expect(outsider.hook("read-only")).to_have_count(1)
    # Bob joins after the reader announced themselves: signals arrive in order, so a leak would be shown by now.
    colleague = open_on(open_app, "bob", path, chat_id)
    expect_present(owner, "bob", "viewing")
    expect_present(colleague, "alice", "viewing")
    for app in (owner, colleague):
        expect(app.presence_item(stranger)).to_have_count(0)
        assert stranger not in app.page.locator("body").inner_text()
    expect(outsider.hook("presence-item")).to_have_count(0)
    assert tenant not in outsider.page.locator("body").inner_text()


def test_a_draft_grows_live_in_both_tabs_and_becomes_one_message(open_app: OpenApp, backend: MakeBackend) -> None:
    """An agent's draft grows delta by delta in two tabs and is replaced, in each, by exactly one message."""
    alice = backend()
    _, chat_id = shared_chat(alice)
    path = f"/threads/{chat_id}"
    tabs = open_on(open_app, "alice", path, chat_id), open_on(open_app, "bob", path, chat_id)
    draft_id = alice.start_draft(chat_id)
    for app in tabs:
        expect(app.drafts()).to_have_count(1)
        expect(app.drafts()).to_have_attribute("data-draft-id", draft_id)
    so_far = ""
    deltas = ["The diagram ", "has three ", "tasks: ", f"check, approve, ship {marker()}."]
    for seq, delta in enumerate(deltas, start=1):
        alice.append_draft(draft_id, seq, delta)
        so_far += delta
        for app in tabs:
            expect(app.drafts()).to_have_text(so_far)
    before = [app.messages.count() for app in tabs]
    message_id = alice.complete_draft(draft_id)
    for app, count in zip(tabs, before, strict=True):
        expect(app.message(so_far)).to_have_count(1)
        expect(app.drafts()).to_have_count(0)
        expect(app.messages).to_have_count(count + 1)
        assert message_id in app.message_ids()
    stored = [m for m in alice.messages(chat_id) if m.idempotency_key == draft_id]
    assert [(m.id, m.role, message_text(m)) for m in stored] == [(message_id, "assistant", so_far)]


def draft_under_way(open_app: OpenApp, backend: MakeBackend, first: str) -> tuple[Backend, App, str]:
    """Bob's tab on a chat where alice's agent has written ``first``: (alice, bob's tab, the draft's id)."""
    alice = backend()
    _, chat_id = shared_chat(alice)
    app = open_on(open_app, "bob", f"/threads/{chat_id}", chat_id)
    draft_id = alice.start_draft(chat_id)
    alice.append_draft(draft_id, 1, first)
    expect(app.drafts()).to_have_text(first)
    return alice, app, draft_id


def test_a_tab_reloaded_mid_draft_shows_the_text_so_far_and_continues(open_app: OpenApp, backend: MakeBackend) -> None:
    """A reload in the middle of a draft shows it again with its text so far; it then grows and becomes one message."""
    alice, app, draft_id = draft_under_way(open_app, backend, "Before the reload, ")
    loaded = app.mark_loaded()
    app.page.reload()
    assert loaded.document != app.probe_state()["document"]
    expect(app.drafts()).to_have_text("Before the reload, ")
    ending = f"and after it {marker()}."
    alice.append_draft(draft_id, 2, ending)
    expect(app.drafts()).to_have_text("Before the reload, " + ending)
    alice.complete_draft(draft_id)
    expect(app.message("Before the reload, " + ending)).to_have_count(1)
    expect(app.drafts()).to_have_count(0)


def test_a_tab_cut_off_mid_draft_ends_with_the_full_text_once(open_app: OpenApp, backend: MakeBackend) -> None:
    """Network cut mid-draft: back online the tab shows the draft as it grew meanwhile, then the one message."""
    alice, app, draft_id = draft_under_way(open_app, backend, "one, ")

    app.tab.cut()
    app.expect_reconnecting()
    alice.append_draft(draft_id, 2, "two, ")
    alice.append_draft(draft_id, 3, "three, ")
    app.tab.restore()
    app.expect_live()
    expect(app.drafts()).to_have_text("one, two, three, ")

    full = f"one, two, three, four {marker()}"
    alice.append_draft(draft_id, 4, full.removeprefix("one, two, three, "))
    app.tab.cut()
    app.expect_reconnecting()
    alice.complete_draft(draft_id)  # completed while the tab is away
    app.tab.restore()
    app.expect_live()
    expect(app.message(full)).to_have_count(1)
    expect(app.drafts()).to_have_count(0)
    assert len(app.message_ids()) == len(set(app.message_ids()))


def test_draft_and_presence_render_delays(open_app: OpenApp, backend: MakeBackend) -> None:
    """Delta -> render and presence change -> render in a tab, beside the calls' own round trips (reported)."""
    alice = backend()
    _, chat_id = shared_chat(alice)
    app = open_on(open_app, "bob", f"/threads/{chat_id}", chat_id)

    draft_id = alice.start_draft(chat_id)
    expect(app.drafts()).to_have_count(1)
    to_render, round_trips = [], []
    for seq in range(1, DELTAS + 1):
        mark = marker()
        sent = now_ms()
        alice.append_draft(draft_id, seq, f"{mark} ")
        round_trips.append(now_ms() - sent)
        to_render.append(app.wait_seen_in_draft(mark) - sent)
    alice.complete_draft(draft_id)
    record_samples(
        "draft delta -> render (AppendDraft -> the tab's draft element)",
        to_render,
        notes=f"{DELTAS} sequential deltas, shared wall clock",
    )
    record_samples("AppendDraft round trip (baseline: the same deltas)", round_trips)

    to_render, round_trips = [], []
    for number in range(PRESENCE_CHANGES):
        visitor = backend(f"visitor-{number}-{uuid.uuid4().hex[:6]}")
        sent = now_ms()
        visitor.announce(chat_id, "probe", TYPING if number % 2 else VIEWING)
        round_trips.append(now_ms() - sent)
        to_render.append(app.wait_presence_shown(visitor.user, "typing" if number % 2 else "viewing") - sent)
        visitor.leave(chat_id, "probe")
    record_samples(
        "presence change -> render (AnnouncePresence -> the tab's presence-item)",
        to_render,
        notes=f"{PRESENCE_CHANGES} users joining one after another, shared wall clock",
    )
    record_samples("AnnouncePresence round trip (baseline: the same announcements)", round_trips)
