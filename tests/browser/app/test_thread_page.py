"""/threads/<id>: messages (live), title and visibility, linked artifacts, creating an artifact, the composer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ameide_core_proto.threads.v1 import threads_types_pb2 as chat_types
from tests.browser.app.conftest import RECORD_HISTORY, MakeSeed, history_calls, location
from tests.browser.conftest import OpenTab

pytestmark = pytest.mark.browser

MARKUP = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script><b>bold?</b>'


def test_messages_load_and_follow_live_and_the_composer_sends(open_tab: OpenTab, seed: MakeSeed, tenant: str) -> None:
    """The chat's messages, one from elsewhere arriving live, one sent here; the URL and history untouched."""
    alice = seed("alice", tenant)
    artifact_id = alice.artifact("Order process")
    sent = alice.about(artifact_id, "hello")
    tab = open_tab("alice", tenant, init_script=RECORD_HISTORY)
    tab.goto(f"/threads/{sent.chat_id}")
    expect(tab.page.get_by_test_id("chat-title")).to_have_text("Discussion about Order process")
    messages = tab.page.get_by_test_id("message")
    expect(messages).to_have_text(["hello"])
    expect(messages.first).to_have_attribute("data-message-id", sent.message_id)
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")
    before = location(tab.page)
    alice.send(sent.chat_id, "from another client")
    expect(messages).to_have_text(["hello", "from another client"])
    tab.page.get_by_test_id("message-input").fill("typed here")
    tab.page.get_by_test_id("message-input").press("Enter")
    expect(messages).to_have_text(["hello", "from another client", "typed here"])
    expect(tab.page.get_by_test_id("message-input")).to_have_value("")
    assert location(tab.page) == before
    assert history_calls(tab.page) == []


def test_markup_in_titles_and_messages_is_text_and_never_runs(open_tab: OpenTab, seed: MakeSeed, tenant: str) -> None:
    """HTML and script in a chat title, an artifact title and a message render as their characters."""
    alice = seed("alice", tenant)
    artifact_id = alice.artifact(MARKUP)
    chat_id = alice.about(artifact_id, MARKUP).chat_id
    tab = open_tab("alice", tenant)
    tab.goto(f"/threads/{chat_id}")
    expect(tab.page.get_by_test_id("chat-title")).to_have_text(f"Discussion about {MARKUP}")
    expect(tab.page.get_by_test_id("message")).to_have_text([MARKUP])
    expect(tab.page.get_by_test_id("artifact-item")).to_have_text(MARKUP)
    tab.goto(f"/artifact/{artifact_id}")
    expect(tab.page.get_by_test_id("artifact-title")).to_have_text(MARKUP)
    tab.page.get_by_test_id("chat-item").click()
    expect(tab.page.get_by_test_id("message")).to_have_text([MARKUP])
    assert tab.page.evaluate("() => window.__pwned") is None
    assert tab.page.locator("main img, main script, main b").count() == 0


def test_the_owner_renames_and_shares_others_only_read(open_tab: OpenTab, seed: MakeSeed, tenant: str) -> None:
    """Title editing and visibility are the owner's; a colleague sees the change live, without the controls."""
    alice = seed("alice", tenant)
    chat_id = alice.chat("Planning")
    owner = open_tab("alice", tenant)
    owner.goto(f"/threads/{chat_id}")
    owner.page.get_by_test_id("chat-title-edit").click()
    owner.page.get_by_test_id("chat-title-input").fill("Release plan")
    owner.page.get_by_test_id("chat-title-save").click()
    expect(owner.page.get_by_test_id("chat-title")).to_have_text("Release plan")
    colleague = open_tab("bob", tenant)
    colleague.goto(f"/threads/{chat_id}")
    expect(colleague.page.get_by_test_id("not-found")).to_be_visible()  # still private
    owner.page.get_by_test_id("chat-visibility").select_option(str(chat_types.CHAT_VISIBILITY_TEAM))
    expect(owner.page.get_by_test_id("chat-visibility")).to_have_value(str(chat_types.CHAT_VISIBILITY_TEAM))
    colleague.page.reload()
    expect(colleague.page.get_by_test_id("chat-title")).to_have_text("Release plan")
    expect(colleague.page.get_by_test_id("chat-title-edit")).to_have_count(0)
    expect(colleague.page.get_by_test_id("chat-visibility")).to_have_count(0)
    expect(colleague.page.get_by_text("Visible to: Team")).to_be_visible()
    expect(colleague.page.get_by_test_id("live-status")).to_have_text("live")
    owner.page.get_by_test_id("chat-title-edit").click()
    owner.page.get_by_test_id("chat-title-input").fill("Release plan v2")
    owner.page.get_by_test_id("chat-title-save").click()
    expect(colleague.page.get_by_test_id("chat-title")).to_have_text("Release plan v2")


def test_a_refused_rename_shows_the_services_field_violation(open_tab: OpenTab, seed: MakeSeed, tenant: str) -> None:
    """A title over the services' limit: their INVALID_ARGUMENT field violation is shown, the old title kept."""
    chat_id = seed("alice", tenant).chat("Short")
    tab = open_tab("alice", tenant)
    tab.goto(f"/threads/{chat_id}")
    tab.page.get_by_test_id("chat-title-edit").click()
    tab.page.get_by_test_id("chat-title-input").fill("x" * 300)
    tab.page.get_by_test_id("chat-title-save").click()
    violations = tab.page.get_by_test_id("field-violations")
    expect(violations).to_contain_text("title")
    expect(violations).to_contain_text("256")
    tab.page.get_by_role("button", name="Cancel").click()
    expect(tab.page.get_by_test_id("chat-title")).to_have_text("Short")


def test_an_oversized_message_is_stopped_before_sending(open_tab: OpenTab, seed: MakeSeed, tenant: str) -> None:
    """Over 64 KiB of text: a clear message, nothing sent, the text kept; trimmed to the limit it goes."""
    chat_id = seed("alice", tenant).chat("Limits")
    tab = open_tab("alice", tenant)
    tab.goto(f"/threads/{chat_id}")
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")
    tab.page.get_by_test_id("message-input").fill("é" * 40_000)  # 80,000 bytes of UTF-8
    tab.page.get_by_test_id("send-button").click()
    expect(tab.page.get_by_test_id("composer-error")).to_contain_text("at most 64 KiB")
    expect(tab.page.get_by_test_id("message")).to_have_count(0)
    tab.page.get_by_test_id("message-input").fill("é" * 32_768)  # exactly 64 KiB
    expect(tab.page.get_by_test_id("composer-error")).to_have_count(0)
    tab.page.get_by_test_id("send-button").click()
    expect(tab.page.get_by_test_id("message")).to_have_count(1)


def test_artifacts_link_both_ways_and_one_created_here_shows_on_both_pages(
    open_tab: OpenTab, seed: MakeSeed, tenant: str
) -> None:
    """Linked artifacts are plain links; one created from the chat is listed here, and its page lists the chat."""
    alice = seed("alice", tenant)
    chat_id = alice.chat("Design review")
    referenced = alice.artifact("Existing policy", "document", b"Be nice.")
    alice.link(chat_id, referenced)
    tab = open_tab("alice", tenant)
    tab.goto(f"/threads/{chat_id}")
    items = tab.page.get_by_test_id("artifact-item")
    expect(items).to_have_text(["Existing policy"])
    expect(items.first).to_have_attribute("href", f"/artifact/{referenced}")
    tab.page.get_by_text("Create an artifact from this chat").click()
    form = tab.page.get_by_test_id("new-artifact-form")
    form.get_by_label("Title").fill("Payment flow")
    form.get_by_label("Kind").select_option("code")
    form.get_by_label("Content").fill("def pay(): ...")
    form.get_by_test_id("create-artifact").click()
    created = tab.page.locator("[data-testid=artifact-item]", has_text="Payment flow")
    expect(created).to_have_count(1)
    expect(tab.page.locator(".links__item", has_text="Payment flow")).to_contain_text("created here")
    href = created.get_attribute("href")
    assert href is not None
    assert href.startswith("/artifact/")
    created.click()
    expect(tab.page).to_have_url(tab.url(href))
    expect(tab.page.get_by_test_id("artifact-title")).to_have_text("Payment flow")
    expect(tab.page.locator("pre.code")).to_have_text("def pay(): ...")
    expect(tab.page.get_by_test_id("chat-item")).to_have_text(["Design review"])
    expect(tab.page.get_by_test_id("chat-item")).to_have_attribute("data-chat-id", chat_id)


def test_a_long_chat_pages_up_to_its_first_message(open_tab: OpenTab, seed: MakeSeed, tenant: str) -> None:
    """120 messages: the newest 50, then load-more twice to the first; each once, in order, all kept in the DOM."""
    alice = seed("alice", tenant)
    chat_id = alice.chat("Long")
    for i in range(120):
        alice.send(chat_id, f"m{i}")
    tab = open_tab("alice", tenant)
    tab.goto(f"/threads/{chat_id}")
    messages = tab.page.get_by_test_id("message")
    expect(messages).to_have_count(50)
    expect(messages.first).to_have_text("m70")
    for count in (100, 120):
        tab.page.get_by_test_id("load-more").click()
        expect(messages).to_have_count(count)
    expect(tab.page.get_by_test_id("load-more")).to_have_count(0)
    expect(messages).to_have_text([f"m{i}" for i in range(120)])


def test_a_deleted_chat_is_not_found_even_while_open(open_tab: OpenTab, seed: MakeSeed, tenant: str) -> None:
    """Deleted while shown: the page turns not-found and its messages leave the DOM; a fresh load is not-found too."""
    alice = seed("alice", tenant)
    chat_id = alice.chat("Temporary")
    alice.send(chat_id, "soon gone")
    tab = open_tab("alice", tenant)
    tab.goto(f"/threads/{chat_id}")
    expect(tab.page.get_by_test_id("message")).to_have_text(["soon gone"])
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")
    alice.delete_chat(chat_id)
    expect(tab.page.get_by_test_id("not-found")).to_be_visible()
    expect(tab.page.get_by_test_id("message")).to_have_count(0)
    tab.page.reload()
    expect(tab.page.get_by_test_id("not-found")).to_be_visible()
    assert "soon gone" not in tab.page.content()


def test_a_public_chat_is_readable_by_link_from_another_workspace(
    open_tab: OpenTab, seed: MakeSeed, tenant: str
) -> None:
    """Another tenant's user reads a PUBLIC chat by link: its messages, no composer, none of its tenant's artifacts."""
    alice = seed("alice", tenant)
    artifact_id = alice.artifact("Internal diagram")
    chat_id = alice.about(artifact_id, "shared with the world").chat_id
    alice.share(chat_id, chat_types.CHAT_VISIBILITY_PUBLIC)
    tab = open_tab("mallory", f"{tenant}-other")
    tab.goto(f"/threads/{chat_id}")
    expect(tab.page.get_by_test_id("message")).to_have_text(["shared with the world"])
    expect(tab.page.get_by_test_id("read-only")).to_be_visible()
    expect(tab.page.get_by_test_id("message-input")).to_have_count(0)
    expect(tab.page.get_by_test_id("artifact-item")).to_have_count(0)
    assert artifact_id not in tab.page.content()
