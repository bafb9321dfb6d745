"""The two main pages in a realistic state, photographed.

Always runs (the pages must reach that state); with ``AMEIDE_SCREENSHOTS_DIR`` set (e.g. ``docs/screenshots``)
the pictures are also written there, which is how the README's screenshots are made:

    AMEIDE_SCREENSHOTS_DIR=docs/screenshots tox -e browser -- tests/browser/app/test_screenshots.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.app.conftest import MakeSeed
from tests.browser.app.seed import bpmn
from tests.browser.conftest import OpenTab

pytestmark = pytest.mark.browser

OUT_ENV = "AMEIDE_SCREENSHOTS_DIR"
VIEWPORT: ViewportSize = {"width": 1440, "height": 860}
TENANT = "acme"  # a readable name in the pictures; each test run has a database of its own
PNG = b"\x89PNG\r\n\x1a\n"


def photograph(page: Page, name: str, tmp_path: Path) -> None:
    """Screenshot the page into tmp_path, and into $AMEIDE_SCREENSHOTS_DIR when set."""
    page.mouse.move(0, 0)
    shot = tmp_path / name
    page.screenshot(path=shot)
    assert shot.read_bytes().startswith(PNG)
    target = os.environ.get(OUT_ENV)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(target) / name)


def test_the_artifact_and_chat_pages(open_tab: OpenTab, seed: MakeSeed, tmp_path: Path) -> None:
    """/artifact/<id> with its diagram and a selected chat; /threads/<id> with messages and linked artifacts.

    Bob is on the same page, typing, and the demo agent's answer is being written (a draft).
    """
    alice, bob = seed("alice", TENANT), seed("bob", TENANT)
    diagram = alice.artifact("Order fulfilment", content=bpmn("Check stock", "Approve order", "Ship order"))
    policy = alice.artifact("Shipping policy", "document", b"Orders over 1,000 EUR need approval.")
    chat = alice.about(diagram, "Should large orders be approved before we check stock?").chat_id
    alice.share(chat)
    bob.send(chat, "Approval first: the policy asks for it on orders over 1,000 EUR.")
    alice.link(chat, policy)
    alice.send(chat, "Agreed. I'll draft the handover to the warehouse as a checklist.")
    alice.artifact("Warehouse handover", "document", b"1. Pick\n2. Pack\n3. Ship", chat_id=chat)
    bob.send(chat, "Looks good. Ping me when the diagram is updated.")
    alice.rename_chat(chat, "Approval before stock check")
    returns = alice.about(diagram, "Do we need a separate path for returns?").chat_id
    alice.rename_chat(returns, "Returns")

    colleague = open_tab("bob", TENANT)
    colleague.goto(f"/artifact/{diagram}")
    colleague.page.locator(f"[data-testid=chat-item][data-chat-id='{chat}']").click()
    draft = alice.draft(chat, "Approval first, then the stock check: ", "move “Approve order” before ", "“Check stock”")

    tab = open_tab("alice", TENANT)
    tab.page.set_viewport_size(VIEWPORT)
    tab.goto(f"/artifact/{diagram}")
    tab.page.locator(f"[data-testid=chat-item][data-chat-id='{chat}']").click()
    expect(tab.page.get_by_test_id("bpmn-diagram")).to_have_attribute("data-state", "rendered")
    expect(tab.page.get_by_test_id("message")).to_have_count(4)
    expect(tab.page.get_by_test_id("draft")).to_contain_text("“Check stock”")
    colleague.page.get_by_test_id("message-input").fill("Sounds right, and")
    expect(tab.page.get_by_test_id("presence-item")).to_have_attribute("data-state", "typing")
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")
    photograph(tab.page, "artifact-page.png", tmp_path)

    colleague.page.get_by_test_id("message-input").fill("")
    alice.complete_draft(draft)
    tab.goto(f"/threads/{chat}")
    expect(tab.page.get_by_test_id("message")).to_have_count(5)
    expect(tab.page.get_by_test_id("artifact-item")).to_have_count(3)
    expect(tab.page.get_by_test_id("presence-item")).to_have_attribute("data-user-id", "bob")
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")
    photograph(tab.page, "thread-page.png", tmp_path)
