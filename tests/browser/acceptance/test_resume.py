"""Criterion 5, "resume tokens enable reliable streaming": what a tab missed offline arrives once, in order.

A tab whose network drops shows ``reconnecting``, and when the network (or the gateway) comes back it shows every
message it missed, once each and in order, without a reload, and ``live`` again.

A tab's network is cut by its own TCP proxy (``Tab.cut``: open connections reset, new ones held until
``restore``); Chromium's offline emulation would leave an open stream running.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from tests.browser.acceptance.acc_page import App, marker
from tests.browser.acceptance.conftest import MakeBackend, OpenApp, Outage
from tests.browser.conftest import NETWORK_ERRORS

pytestmark = pytest.mark.browser


def assert_shows_in_order(app: App, texts: list[str]) -> None:
    """Every text shown exactly once, in this order, and nothing else."""
    expect(app.messages).to_have_count(len(texts))
    for text in texts:
        expect(app.message(text)).to_have_count(1)
    for sent, shown in zip(texts, app.message_texts(), strict=True):
        assert sent in shown
    assert len(texts) == len(set(app.message_ids()))


@pytest.mark.parametrize("route", ["threads", "artifact"])
def test_messages_missed_while_offline_arrive_once_in_order(
    open_app: OpenApp, backend: MakeBackend, route: str
) -> None:
    """B's network drops: B says reconnecting; A sends three; B's network returns: B shows the three, live."""
    alice = backend()
    artifact_id = alice.create_artifact(f"Support playbook {marker()}")
    opening = f"opening message {marker()}"
    chat_id = alice.ensure(artifact_id, opening)
    path = f"/threads/{chat_id}" if route == "threads" else f"/artifact/{artifact_id}"
    a, b = open_app(), open_app()
    for app in (a, b):
        app.goto(path)
        app.expect_live()
        if route == "artifact":
            app.select_chat(chat_id)
        expect(app.message(opening)).to_have_count(1)
    loaded = b.mark_loaded()

    b.tab.cut()
    b.expect_reconnecting()
    missed = [f"missed {number} {marker()}" for number in range(3)]
    for text in missed:
        a.send(text)
    b.tab.restore()
    b.expect_live()

    assert_shows_in_order(b, [opening, *missed])
    assert loaded.document == b.probe_state()["document"], "B reloaded instead of resuming"


def test_a_gateway_restart_mid_stream_is_resumed(open_app: OpenApp, backend: MakeBackend, outage: Outage) -> None:
    """The gateway goes away under two live tabs; messages written meanwhile show up once it is back."""
    alice = backend()
    chat_id = alice.create_chat(f"Incident review {marker()}")
    before = f"before the restart {marker()}"
    alice.send(chat_id, before)
    tabs = open_app(), open_app()
    for app in tabs:
        app.tab.allow_console_errors(NETWORK_ERRORS.pattern)
        app.goto(f"/threads/{chat_id}")
        app.expect_live()
        expect(app.message(before)).to_have_count(1)

    with outage("gateway"):
        for app in tabs:
            app.expect_reconnecting()
        during = [f"while the gateway was down {number} {marker()}" for number in range(3)]
        for text in during:
            alice.send(chat_id, text)
    for app in tabs:
        app.expect_live()
    after = f"after the restart {marker()}"
    alice.send(chat_id, after)
    for app in tabs:
        assert_shows_in_order(app, [before, *during, after])


def test_a_stream_dropped_while_messages_flow_loses_nothing(open_app: OpenApp, backend: MakeBackend) -> None:
    """The network drops while a burst of messages is being delivered: afterwards all are shown, once, in order."""
    alice = backend()
    chat_id = alice.create_chat(f"Burst {marker()}")
    app = open_app()
    app.goto(f"/threads/{chat_id}")
    app.expect_live()
    burst = [f"burst {number:02d} {marker()}" for number in range(30)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        sending = pool.submit(lambda: [alice.send(chat_id, text) for text in burst])
        expect(app.message(burst[2])).to_have_count(1)
        app.tab.cut()
        sending.result()
    app.expect_reconnecting()
    app.tab.restore()
    app.expect_live()
    assert_shows_in_order(app, burst)
