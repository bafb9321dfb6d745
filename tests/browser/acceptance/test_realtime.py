"""Criterion 4, "real-time updates work across tabs", and the send-to-render delay between two tabs.

Messages, new chats and artifact changes made in one tab or by another client appear in the others without a
reload.

Delay = the wall-clock time the probes saw the message inside a ``message`` element of tab B (MutationObserver,
``Date.now()``) minus the time just before tab A's click on ``send-button`` (``Date.now()`` in A's page): both
tabs read the same machine clock. Reported, not asserted (target p95 <= 100 ms).
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.acceptance.acc_backend import BPMN, bpmn_diagram
from tests.browser.acceptance.acc_page import App, marker
from tests.browser.acceptance.acc_report import record_samples
from tests.browser.acceptance.conftest import MakeBackend, OpenApp

pytestmark = pytest.mark.browser

SENDS = 50


def both_on(open_app: OpenApp, path: str) -> tuple[App, App]:
    """Two tabs (two browser contexts) of the same user on ``path``, both live."""
    tabs = open_app(), open_app()
    for app in tabs:
        app.goto(path)
        app.expect_live()
    return tabs


def test_send_to_render_delay_across_tabs(open_app: OpenApp, backend: MakeBackend) -> None:
    """50 messages sent from tab A's composer each appear in tab B, once and in order; the delays are reported."""
    alice = backend()
    chat_id = alice.create_chat(f"Latency {marker()}")
    a, b = both_on(open_app, f"/threads/{chat_id}")
    delays: list[float] = []
    own: list[float] = []
    texts = []
    for number in range(SENDS):
        mark = marker()
        text = f"message {number} {mark}"
        texts.append(text)
        a.type_message(text)
        clicked = a.click_now("send-button")
        delays.append(b.wait_seen(mark) - clicked)
        own.append(a.wait_seen(mark) - clicked)
        expect(a.hook("message-input")).to_have_value("")
    record_samples(
        "cross-tab send-to-render (/threads, tab A composer -> tab B DOM)",
        delays,
        target="p95 <= 100 ms",
        notes=f"{SENDS} sequential sends, shared wall clock",
    )
    record_samples(
        "same-tab send-to-render (baseline: tab A's own message, same sends)",
        own,
        notes="the write's round trip and A's render, without the live stream to B",
    )
    for app in (a, b):
        expect(app.messages).to_have_count(SENDS)
        for sent, shown in zip(texts, app.message_texts(), strict=True):
            assert sent in shown
        assert SENDS == len(set(app.message_ids()))


def test_artifact_page_messages_reach_the_other_tab(open_app: OpenApp, backend: MakeBackend) -> None:
    """Two tabs on one artifact with the same chat selected: what A sends appears in B."""
    alice = backend()
    title = f"Hiring process {marker()}"
    artifact_id = alice.create_artifact(title)
    chat_id = alice.ensure(artifact_id, f"kick-off {marker()}")
    a, b = both_on(open_app, f"/artifact/{artifact_id}")
    for app in (a, b):
        app.select_chat(chat_id)
    text = f"from tab A {marker()}"
    a.send(text)
    expect(b.message(text)).to_have_count(1)
    expect(b.messages).to_have_count(2)


def test_a_chat_started_in_one_tab_appears_in_the_others_sidebar(open_app: OpenApp, backend: MakeBackend) -> None:
    """Tab B starts a chat about the artifact with its first message; tab A's sidebar lists it, live."""
    alice = backend()
    artifact_id = alice.create_artifact(f"Vendor contract {marker()}")
    a, b = both_on(open_app, f"/artifact/{artifact_id}")
    expect(a.chat_items).to_have_count(0)
    b.send(f"a new chat from tab B {marker()}")
    started = b.selected_chat.get_attribute("data-chat-id")
    assert started is not None
    expect(a.chat_item(started)).to_have_count(1)
    expect(a.chat_items).to_have_count(1)


def test_artifact_changes_made_elsewhere_rerender(open_app: OpenApp, backend: MakeBackend) -> None:
    """A content change and a rename by another client: the open page shows them without a reload.

    The new content, title and version.
    """
    alice = backend()
    title = f"Travel policy {marker()}"
    before = f"Economy class for every flight {marker()}"
    artifact_id = alice.create_artifact(title, body=before.encode())
    app = open_app()
    app.goto(f"/artifact/{artifact_id}")
    expect(app.page.get_by_text(before)).to_be_visible()
    app.expect_live()
    loaded = app.mark_loaded()

    after = f"Business class above six hours {marker()}"
    version = alice.update_content(artifact_id, after.encode())
    expect(app.page.get_by_text(after)).to_be_visible()
    expect(app.page.get_by_text(before)).to_have_count(0)
    expect(app.hook("artifact-version")).to_contain_text(str(version))
    renamed = f"Travel policy 2027 {marker()}"
    alice.rename_artifact(artifact_id, renamed)
    expect(app.hook("artifact-title")).to_have_text(renamed)
    assert loaded.document == app.probe_state()["document"]


def test_a_bpmn_diagram_is_drawn_and_redrawn_when_changed_elsewhere(open_app: OpenApp, backend: MakeBackend) -> None:
    """A BPMN artifact is shown as a diagram (its task drawn as SVG text, not the XML), redrawn on a new version."""
    alice = backend()
    # One word each: bpmn-js wraps a label into several <tspan>s at spaces.
    first_task, second_task = f"Approve-{uuid.uuid4().hex[:6]}", f"Ship-{uuid.uuid4().hex[:6]}"
    artifact_id = alice.create_artifact(
        f"Order process {marker()}", kind="bpmn", body=bpmn_diagram(first_task), mime=BPMN
    )
    app = open_app()
    app.goto(f"/artifact/{artifact_id}")
    expect(app.page.locator("svg text", has_text=first_task)).to_have_count(1)
    app.expect_live()
    alice.update_content(artifact_id, bpmn_diagram(second_task), mime=BPMN)
    expect(app.page.locator("svg text", has_text=second_task)).to_have_count(1)
    expect(app.page.locator("svg text", has_text=first_task)).to_have_count(0)
    assert "bpmn:definitions" not in app.page.locator("body").inner_text()
