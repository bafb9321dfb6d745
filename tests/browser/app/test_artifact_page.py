"""/artifact/<id>: the artifact as its kind, its chats, the selected chat's messages and the atomic composer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ameide_core_proto.threads.v1 import threads_types_pb2 as chat_types
from tests.browser.app.conftest import RECORD_HISTORY, MakeSeed, history_calls, location
from tests.browser.app.seed import bpmn
from tests.browser.conftest import OpenTab

pytestmark = pytest.mark.browser


def send(page: Page, text: str) -> None:
    """Type a message and press the send button."""
    page.get_by_test_id("message-input").fill(text)
    page.get_by_test_id("send-button").click()


def test_a_bpmn_artifact_renders_as_a_diagram_with_title_and_version(
    open_tab: OpenTab, seed: MakeSeed, tenant: str
) -> None:
    """The diagram's shapes are drawn (bpmn-js, under the page's CSP), with the artifact's title and version."""
    artifact_id = seed("alice", tenant).artifact("Order process", content=bpmn("Check stock", "Ship order"))
    tab = open_tab("alice", tenant)
    tab.goto(f"/artifact/{artifact_id}")
    expect(tab.page.get_by_test_id("artifact-title")).to_have_text("Order process")
    expect(tab.page.get_by_test_id("artifact-version")).to_have_text("1")
    diagram = tab.page.get_by_test_id("bpmn-diagram")
    expect(diagram).to_have_attribute("data-state", "rendered")
    expect(diagram.locator("g.djs-element[data-element-id='node_1'] text")).to_have_text("Check stock")
    expect(diagram.locator("g.djs-connection")).to_have_count(3)
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")


def test_a_process_without_diagram_positions_is_laid_out(open_tab: OpenTab, seed: MakeSeed, tenant: str) -> None:
    """BPMN without diagram interchange (as generated documents often are) is still drawn, laid out automatically."""
    flows = "".join(
        f'<bpmn:sequenceFlow id="{s}{t}" sourceRef="{s}" targetRef="{t}"/>' for s, t in (("s", "t"), ("t", "e"))
    )
    bare = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        'targetNamespace="https://ameide.io/tests"><bpmn:process id="p"><bpmn:startEvent id="s"/>'
        f'<bpmn:task id="t" name="Approve"/><bpmn:endEvent id="e"/>{flows}</bpmn:process></bpmn:definitions>'
    ).encode()
    artifact_id = seed("alice", tenant).artifact("Generated", content=bare)
    tab = open_tab("alice", tenant)
    tab.goto(f"/artifact/{artifact_id}")
    diagram = tab.page.get_by_test_id("bpmn-diagram")
    expect(diagram).to_have_attribute("data-state", "rendered")
    expect(diagram.locator("g.djs-element[data-element-id='t'] text")).to_have_text("Approve")
    expect(tab.page.get_by_text("Laid out automatically")).to_be_visible()


def test_broken_bpmn_says_so_and_shows_its_source(open_tab: OpenTab, seed: MakeSeed, tenant: str) -> None:
    """Content that is not BPMN ends in a clear message, the source still readable, nothing thrown."""
    artifact_id = seed("alice", tenant).artifact("Broken", content=b"<not-bpmn>")
    tab = open_tab("alice", tenant)
    tab.goto(f"/artifact/{artifact_id}")
    expect(tab.page.get_by_test_id("bpmn-diagram")).to_have_attribute("data-state", "failed")
    expect(tab.page.get_by_role("alert")).to_contain_text("This diagram cannot be drawn")
    tab.page.get_by_text("BPMN XML").click()
    expect(tab.page.locator(".source pre")).to_have_text("<not-bpmn>")


@pytest.mark.parametrize(("kind", "selector"), [("document", ".document"), ("code", "pre.code")])
def test_documents_and_code_show_as_text(
    open_tab: OpenTab, seed: MakeSeed, tenant: str, kind: str, selector: str
) -> None:
    """A document is wrapped text, code a <pre>; markup in them is text, and the diagram viewer is never fetched."""
    body = "# Shipping\n<img src=x onerror=alert(1)> orders over 1,000 EUR\n"
    artifact_id = seed("alice", tenant).artifact("Policy", kind, body.encode())
    tab = open_tab("alice", tenant)
    scripts: list[str] = []
    tab.page.on("request", lambda request: scripts.append(request.url) if request.resource_type == "script" else None)
    tab.goto(f"/artifact/{artifact_id}")
    content = tab.page.get_by_test_id("artifact-content")
    expect(content).to_have_attribute("data-kind", kind)
    expect(content.locator(selector)).to_have_text(body)
    expect(content.locator("img")).to_have_count(0)
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")
    # Only what index.html names (the app and its shared chunk): bpmn-js is a chunk of its own, not fetched here.
    named = tab.page.evaluate(
        "() => [...document.querySelectorAll('script[src], link[rel=modulepreload]')].map((e) => e.src || e.href)"
    )
    assert scripts
    assert set(scripts) <= set(named), scripts


def test_content_and_title_changes_rerender_live(open_tab: OpenTab, seed: MakeSeed, tenant: str) -> None:
    """An edit made elsewhere re-renders the diagram, the title and the version without a reload."""
    alice = seed("alice", tenant)
    artifact_id = alice.artifact("Draft", content=bpmn("First step"))
    tab = open_tab("alice", tenant)
    tab.goto(f"/artifact/{artifact_id}")
    diagram = tab.page.get_by_test_id("bpmn-diagram")
    expect(diagram.locator("g.djs-element[data-element-id='node_1'] text")).to_have_text("First step")
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")
    alice.update_content(artifact_id, bpmn("Better step", "Another step"))
    expect(diagram.locator("g.djs-element[data-element-id='node_1'] text")).to_have_text("Better step")
    expect(diagram.locator("g.djs-element[data-element-id='node_2'] text")).to_have_text("Another step")
    expect(tab.page.get_by_test_id("artifact-version")).to_have_text("2")
    alice.rename_artifact(artifact_id, "Final")
    expect(tab.page.get_by_test_id("artifact-title")).to_have_text("Final")
    expect(tab.page.get_by_test_id("artifact-version")).to_have_text("3")


def test_first_message_starts_a_chat_later_ones_join_it_and_the_url_never_moves(
    open_tab: OpenTab, seed: MakeSeed, tenant: str
) -> None:
    """Send, select, deselect, refresh: one chat per first message, the selected one kept, URL and history untouched."""
    artifact_id = seed("alice", tenant).artifact("Order process")
    tab = open_tab("alice", tenant, init_script=RECORD_HISTORY)
    tab.goto(f"/artifact/{artifact_id}")
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")
    before = location(tab.page)
    send(tab.page, "first question")
    first = tab.page.get_by_test_id("chat-item")
    expect(first).to_have_count(1)
    expect(first).to_have_attribute("aria-selected", "true")
    expect(first).to_have_text("Discussion about Order process")
    expect(tab.page.get_by_test_id("chat-title")).to_have_text("Discussion about Order process")
    send(tab.page, "follow-up")
    expect(tab.page.get_by_test_id("message")).to_have_text(["first question", "follow-up"])
    tab.page.get_by_test_id("new-chat").click()
    expect(first).to_have_attribute("aria-selected", "false")
    expect(tab.page.get_by_test_id("message")).to_have_count(0)
    expect(tab.page.get_by_test_id("chat-title")).to_have_count(0)
    send(tab.page, "another topic")
    chats = tab.page.get_by_test_id("chat-item")
    expect(chats).to_have_count(2)
    expect(chats.first).to_have_attribute("aria-selected", "true")
    expect(tab.page.get_by_test_id("message")).to_have_text(["another topic"])
    chats.nth(1).click()
    expect(tab.page.get_by_test_id("message")).to_have_text(["first question", "follow-up"])
    selected = chats.nth(1).get_attribute("data-chat-id")
    assert location(tab.page) == before
    assert history_calls(tab.page) == []
    tab.page.reload()
    expect(tab.page.locator("[data-testid=chat-item][aria-selected=true]")).to_have_attribute(
        "data-chat-id", selected or ""
    )
    expect(tab.page.get_by_test_id("message")).to_have_text(["first question", "follow-up"])
    assert location(tab.page) == before
    assert history_calls(tab.page) == []


def test_a_chat_started_in_another_tab_appears_in_the_sidebar(open_tab: OpenTab, seed: MakeSeed, tenant: str) -> None:
    """Bob starts a team chat about the artifact: Alice's open page lists it at once; his private one never shows."""
    alice, bob = seed("alice", tenant), seed("bob", tenant)
    artifact_id = alice.artifact("Shared diagram")
    tab = open_tab("alice", tenant)
    tab.goto(f"/artifact/{artifact_id}")
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")
    expect(tab.page.get_by_test_id("chat-item")).to_have_count(0)
    private = bob.about(artifact_id, "just for me").chat_id
    chat_id = bob.about(artifact_id, "hello from bob", visibility=chat_types.CHAT_VISIBILITY_TEAM).chat_id
    item = tab.page.locator(f"[data-testid=chat-item][data-chat-id='{chat_id}']")
    expect(item).to_have_text("Discussion about Shared diagram")
    expect(tab.page.get_by_test_id("chat-item")).to_have_count(1)
    item.click()
    expect(tab.page.get_by_test_id("message")).to_have_text(["hello from bob"])
    bob.send(chat_id, "live from bob")
    expect(tab.page.get_by_test_id("message")).to_have_text(["hello from bob", "live from bob"])
    assert private not in tab.page.content()


def test_chats_and_messages_page_through_completely(open_tab: OpenTab, seed: MakeSeed, tenant: str) -> None:
    """25 chats page in with load-more (20 first); a chat of 60 messages pages upwards to its first message."""
    alice = seed("alice", tenant)
    artifact_id = alice.artifact("Busy diagram")
    chat_ids = [alice.about(artifact_id, f"chat {i}").chat_id for i in range(25)]
    for i in range(1, 60):
        alice.send(chat_ids[0], f"m{i}")
    tab = open_tab("alice", tenant)
    tab.goto(f"/artifact/{artifact_id}")
    chats = tab.page.get_by_test_id("chat-item")
    expect(chats).to_have_count(20)
    tab.page.locator("[data-testid=load-more][data-list=chats]").click()
    expect(chats).to_have_count(25)
    expect(tab.page.get_by_test_id("load-more")).to_have_count(0)
    assert sorted(chats.evaluate_all("items => items.map(i => i.dataset.chatId)")) == sorted(chat_ids)
    tab.page.locator(f"[data-testid=chat-item][data-chat-id='{chat_ids[0]}']").click()
    messages = tab.page.get_by_test_id("message")
    expect(messages).to_have_count(50)
    tab.page.locator("[data-testid=load-more][data-list=messages]").click()
    expect(messages).to_have_count(60)
    expect(messages.first).to_have_text("chat 0")
    expect(messages.last).to_have_text("m59")
    expect(tab.page.get_by_test_id("load-more")).to_have_count(0)


def test_another_tenants_artifact_is_not_found_and_shows_none_of_it(
    open_tab: OpenTab, seed: MakeSeed, tenant: str
) -> None:
    """Mallory of another tenant opens Alice's artifact: not-found, and nothing of it in the page."""
    alice = seed("alice", tenant)
    artifact_id = alice.artifact("Secret merger plan", content=bpmn("Confidential step"))
    alice.about(artifact_id, "top secret message")
    tab = open_tab("mallory", f"{tenant}-other")
    tab.goto(f"/artifact/{artifact_id}")
    expect(tab.page.get_by_test_id("not-found")).to_be_visible()
    html = tab.page.content()
    for leaked in ("Secret merger plan", "Confidential step", "top secret message", artifact_id):
        assert leaked not in html
    expect(tab.page.get_by_test_id("message-input")).to_have_count(0)


@pytest.mark.parametrize(
    "path",
    [
        "/artifact/not-a-uuid",
        "/artifact/00000000-0000-4000-8000-000000000000",
        "/artifact/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
    ],
)
def test_invalid_and_unknown_ids_are_not_found(open_tab: OpenTab, tenant: str, path: str) -> None:
    """A malformed id, an unknown one, markup as an id: the not-found state, nothing thrown or executed."""
    tab = open_tab("alice", tenant)
    tab.goto(path)
    expect(tab.page.get_by_test_id("not-found")).to_contain_text(re.compile("not found"))
