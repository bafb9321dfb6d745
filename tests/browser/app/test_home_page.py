"""/: the caller's chats and artifacts (paginated), creating an artifact, and searching the chats."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.app.conftest import MakeSeed
from tests.browser.conftest import OpenTab

pytestmark = pytest.mark.browser


def test_a_new_tenant_sees_empty_lists(open_tab: OpenTab, tenant: str) -> None:
    """Nothing yet: both lists say so (not a blank page, not an error)."""
    tab = open_tab("alice", tenant)
    tab.goto("/")
    expect(tab.page.get_by_test_id("empty")).to_have_count(2)
    expect(tab.page.get_by_text("No chats yet")).to_be_visible()
    expect(tab.page.get_by_text("No artifacts yet")).to_be_visible()


def test_chats_and_artifacts_are_listed_as_links_and_page_through(
    open_tab: OpenTab, seed: MakeSeed, tenant: str
) -> None:
    """23 chats and 22 artifacts: 20 of each, then the rest with each list's load-more; every item links to its page."""
    alice = seed("alice", tenant)
    chats = [alice.chat(f"chat {i}") for i in range(23)]
    artifacts = [alice.artifact(f"artifact {i}", "document", b"text") for i in range(22)]
    tab = open_tab("alice", tenant)
    tab.goto("/")
    chat_items, artifact_items = tab.page.get_by_test_id("chat-item"), tab.page.get_by_test_id("artifact-item")
    expect(chat_items).to_have_count(20)
    expect(artifact_items).to_have_count(20)
    tab.page.locator("[data-testid=load-more][data-list=chats]").click()
    tab.page.locator("[data-testid=load-more][data-list=artifacts]").click()
    expect(chat_items).to_have_count(23)
    expect(artifact_items).to_have_count(22)
    expect(tab.page.get_by_test_id("load-more")).to_have_count(0)
    assert set(chat_items.evaluate_all("items => items.map(i => i.dataset.chatId)")) == set(chats)
    assert set(artifact_items.evaluate_all("items => items.map(i => i.dataset.artifactId)")) == set(artifacts)
    expect(chat_items.first).to_have_attribute("href", f"/threads/{chat_items.first.get_attribute('data-chat-id')}")
    title = artifact_items.first.text_content()
    artifact_items.first.click()
    expect(tab.page.get_by_test_id("artifact-title")).to_have_text(title or "")


def test_search_shows_matching_chats_with_marked_snippets_as_text(
    open_tab: OpenTab, seed: MakeSeed, tenant: str
) -> None:
    """SearchChats results link to the chat; the snippet's matches are <mark>ed text runs; nothing in it runs."""
    alice = seed("alice", tenant)
    hit = alice.chat("Quarterly planning")
    alice.send(hit, "the approval step <script>window.__pwned=1</script> needs a second reviewer")
    alice.send(alice.chat("Other"), "nothing relevant")
    tab = open_tab("alice", tenant)
    tab.goto("/")
    tab.page.get_by_test_id("search-input").fill("approval")
    result = tab.page.get_by_test_id("search-result")
    expect(result).to_have_count(1)
    expect(result).to_have_attribute("data-chat-id", hit)
    expect(result.get_by_role("link")).to_have_text("Quarterly planning")
    expect(result.locator("mark")).to_have_text(["approval"])
    expect(result.locator(".snippet")).to_contain_text("step")
    expect(result.locator("script")).to_have_count(0)
    assert tab.page.evaluate("() => window.__pwned") is None
    tab.page.get_by_test_id("search-input").fill("nomatchwhatsoever")
    expect(tab.page.get_by_text("No chats match")).to_be_visible()
    expect(result).to_have_count(0)


def test_an_artifact_created_here_is_listed_at_once(open_tab: OpenTab, tenant: str) -> None:
    """The form creates the artifact; the list (waiting for that write) shows it, and its page opens by link."""
    tab = open_tab("alice", tenant)
    tab.goto("/")
    expect(tab.page.get_by_text("No artifacts yet")).to_be_visible()
    tab.page.get_by_text("New artifact").click()
    form = tab.page.get_by_test_id("new-artifact-form")
    form.get_by_label("Title").fill("Onboarding")
    form.get_by_label("Kind").select_option("document")
    form.get_by_label("Content").fill("Welcome aboard.")
    form.get_by_test_id("create-artifact").click()
    item = tab.page.get_by_test_id("artifact-item")
    expect(item).to_have_text(["Onboarding"])
    item.click()
    expect(tab.page.get_by_test_id("artifact-title")).to_have_text("Onboarding")
    expect(tab.page.locator(".document")).to_have_text("Welcome aboard.")
    expect(tab.page.get_by_test_id("artifact-version")).to_have_text("1")
