"""Bad input and limits: each ends in a clear state, nothing executed, nothing lost, no console error.

An oversized message, ids that are not ids, and markup in titles and messages (any console error fails a test).

A stream dropped in the middle of a burst of messages is in test_resume.py.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.acceptance.acc_backend import message_text
from tests.browser.acceptance.acc_page import App, marker
from tests.browser.acceptance.conftest import MakeBackend, OpenApp

pytestmark = pytest.mark.browser

TEXT_PART_LIMIT = 64 * 1024  # the services' limit of one text part (threads_service.proto, SendMessage)
# What a page shows when it refuses something: an alert, or words saying why.
REFUSAL = re.compile(r"too (long|large|big)|limit|exceed|maximum|invalid", re.IGNORECASE)
IMG_PAYLOAD = "<img src=x onerror=window.__pwned=1>"
SCRIPT_PAYLOAD = "<script>window.__pwned=1</script>"

# True once the composer has dealt with the click: every write it started is answered, or it started none and
# shows why (an alert, or the button refusing further clicks).
REFUSED_OR_ANSWERED = """() => {
  const probe = window.__ameideProbe;
  if (probe.writesStarted > 0) { return probe.writesSettled >= probe.writesStarted; }
  const button = document.querySelector('[data-testid="send-button"]');
  return document.querySelector('[role="alert"]') !== null || (button !== null && button.disabled);
}"""


def assert_refusal_shown(app: App) -> None:
    """The page says the message was refused (an alert, or text naming the limit)."""
    alerts = app.page.get_by_role("alert")
    if alerts.count() > 0:
        expect(alerts.first).to_be_visible()
        return
    expect(app.page.get_by_text(REFUSAL).first).to_be_visible()


@pytest.mark.parametrize("route", ["artifact", "threads"])
def test_an_oversized_message_is_refused_clearly_and_the_page_goes_on(
    open_app: OpenApp, backend: MakeBackend, route: str
) -> None:
    """A message over the text limit is refused visibly; nothing is stored, the draft is kept, the page goes on.

    Nothing is shown as sent, and the next normal message goes through.
    """
    alice = backend()
    artifact_id = alice.create_artifact(f"Limits {marker()}")
    chat_id = alice.ensure(artifact_id, f"hello {marker()}")
    app = open_app()
    app.goto(f"/threads/{chat_id}" if route == "threads" else f"/artifact/{artifact_id}")
    if route == "artifact":
        app.select_chat(chat_id)
    app.expect_live()
    oversized = marker() + " " + "x" * (TEXT_PART_LIMIT + 1024)
    app.type_message(oversized)
    app.hook("send-button").click()
    app.page.wait_for_function(REFUSED_OR_ANSWERED, polling=50)
    assert_refusal_shown(app)
    expect(app.messages).to_have_count(1)
    assert len(oversized) == len(app.hook("message-input").input_value()), "the draft was lost"

    app.send(f"a normal message {marker()}")
    app.expect_live()
    stored = [message_text(message) for message in alice.messages(chat_id)]
    assert 2 == len(stored)
    assert oversized not in stored


@pytest.mark.parametrize(
    "path",
    ["/artifact/not-a-uuid", "/threads/not-a-uuid", "/artifact/{unknown}", "/threads/{unknown}", "/artifact/%3Cb%3E"],
)
def test_ids_that_name_nothing_show_not_found(open_app: OpenApp, path: str) -> None:
    """A malformed id in the URL, or a well-formed one that names nothing: not-found, never a blank page."""
    app = open_app()
    opened = path.format(unknown=uuid.uuid4())
    app.goto(opened)
    expect(app.hook("not-found")).to_be_visible()
    expect(app.messages).to_have_count(0)
    assert app.tab.url(opened) == app.page.url


def assert_not_executed(app: App) -> None:
    """No payload ran and none became an element."""
    assert app.page.evaluate("() => window.__pwned") is None
    assert 0 == app.page.locator('img[src="x"]').count()
    assert 0 == app.page.locator("script", has_text="__pwned").count()


def test_markup_in_titles_messages_and_content_is_shown_as_text(open_app: OpenApp, backend: MakeBackend) -> None:
    """HTML and script in titles, content and messages are shown literally and never executed.

    The artifact's title and content, the chat's title and a message, on the artifact page, the chat page and in
    search results.
    """
    alice = backend()
    word = f"w{uuid.uuid4().hex[:10]}"
    artifact_title = f"{IMG_PAYLOAD} {SCRIPT_PAYLOAD} artifact"
    content = f"{SCRIPT_PAYLOAD} content {IMG_PAYLOAD}"
    artifact_id = alice.create_artifact(artifact_title, body=content.encode())
    message = f"{IMG_PAYLOAD} {word} {SCRIPT_PAYLOAD} message"
    chat_id = alice.ensure(artifact_id, message)
    chat_title = f"{SCRIPT_PAYLOAD} chat {IMG_PAYLOAD}"
    alice.rename_chat(chat_id, chat_title)

    app = open_app()
    app.goto(f"/artifact/{artifact_id}")
    expect(app.hook("artifact-title")).to_have_text(artifact_title)
    expect(app.page.get_by_text(content, exact=False)).to_have_count(1)
    expect(app.chat_item(chat_id)).to_contain_text(chat_title)
    app.select_chat(chat_id)
    expect(app.message(message)).to_have_count(1)
    assert_not_executed(app)

    app.goto(f"/threads/{chat_id}")
    expect(app.hook("chat-title")).to_contain_text(chat_title)
    expect(app.message(message)).to_have_count(1)
    expect(app.artifact_item(artifact_id)).to_contain_text(artifact_title)
    assert_not_executed(app)

    app.goto("/")
    app.search(word)
    result = app.hook("search-result")
    expect(result).to_have_count(1)
    expect(result).to_contain_text(IMG_PAYLOAD)
    assert "<b>" not in result.inner_text()
    assert_not_executed(app)
