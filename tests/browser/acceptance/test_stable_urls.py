"""Criteria 1 and 2: ``/artifact/<id>`` and ``/threads/<id>`` stay put, and a refresh restores the same state.

"Stays" means, from the moment the page has loaded: the same document (no reload), the same location, the same
``history.length``, no ``pushState``/``replaceState``/``back``/``forward``/``go`` call and no same-document
navigation; the app's initialisation may only touch history state without changing the URL (``assert_stayed``).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.acceptance.acc_page import App, assert_stayed, marker
from tests.browser.acceptance.conftest import MakeBackend, OpenApp

pytestmark = pytest.mark.browser


def open_artifact(app: App, artifact_id: str, title: str) -> None:
    """Open the artifact page and wait until it shows the artifact, live."""
    app.goto(f"/artifact/{artifact_id}")
    expect(app.hook("artifact-title")).to_have_text(title)
    app.expect_live()


def open_chat(app: App, chat_id: str) -> None:
    """Open the chat page and wait until it shows the chat, live."""
    app.goto(f"/threads/{chat_id}")
    expect(app.hook("chat-title")).to_be_visible()
    app.expect_live()


def test_artifact_page_stays_through_first_message_selection_and_live_updates(
    open_app: OpenApp, backend: MakeBackend
) -> None:
    """First message (a new chat), selecting chats, live messages and a live content change: the URL never moves."""
    alice = backend()
    title = f"Order policy {marker()}"
    artifact_id = alice.create_artifact(title, body=b"Orders ship within two days.")
    first_chat = alice.ensure(artifact_id, f"about shipping {marker()}")
    second_chat = alice.ensure(artifact_id, f"about returns {marker()}")
    app = open_app()
    open_artifact(app, artifact_id, title)
    expect(app.chat_items).to_have_count(2)
    loaded = app.mark_loaded()

    first_message = f"first message of a new chat {marker()}"
    app.send(first_message)
    expect(app.chat_items).to_have_count(3)
    new_chat = app.selected_chat.get_attribute("data-chat-id")
    assert new_chat not in (None, first_chat, second_chat)

    app.select_chat(first_chat)
    live_message = f"sent from elsewhere {marker()}"
    alice.send(first_chat, live_message)
    expect(app.message(live_message)).to_have_count(1)
    version = alice.update_content(artifact_id, b"Orders ship within one day.")
    expect(app.hook("artifact-version")).to_contain_text(str(version))
    app.select_chat(second_chat)
    app.select_chat(str(new_chat))
    expect(app.message(first_message)).to_have_count(1)

    assert_stayed(app, loaded)
    assert {first_chat, second_chat, new_chat} == {chat.threads_id for chat in alice.artifact_chats(artifact_id)}


def test_chat_page_stays_through_sending_and_live_updates(open_app: OpenApp, backend: MakeBackend) -> None:
    """Sending, a message from elsewhere and a rename from elsewhere: the URL never moves."""
    alice = backend()
    chat_id = alice.create_chat(f"Release planning {marker()}")
    alice.send(chat_id, f"agenda {marker()}")
    app = open_app()
    open_chat(app, chat_id)
    expect(app.messages).to_have_count(1)
    loaded = app.mark_loaded()

    app.send(f"from this page {marker()}")
    elsewhere = f"from another client {marker()}"
    alice.send(chat_id, elsewhere)
    expect(app.message(elsewhere)).to_have_count(1)
    renamed = f"Release planning, renamed {marker()}"
    alice.rename_chat(chat_id, renamed)
    expect(app.hook("chat-title")).to_contain_text(renamed)

    assert_stayed(app, loaded)


def test_artifact_page_refresh_restores_the_selected_chat_and_its_messages(
    open_app: OpenApp, backend: MakeBackend
) -> None:
    """Start a chat (or select one), refresh: the same chat is selected, with the same messages, at the same URL."""
    alice = backend()
    title = f"Pricing sheet {marker()}"
    artifact_id = alice.create_artifact(title)
    older = alice.ensure(artifact_id, f"older chat {marker()}")
    alice.send(older, f"second message {marker()}")
    app = open_app()
    open_artifact(app, artifact_id, title)
    history_length = app.page.evaluate("() => history.length")

    started = f"a chat started here {marker()}"
    app.send(started)
    new_chat = app.selected_chat.get_attribute("data-chat-id")
    assert new_chat not in (None, older)
    app.page.reload()
    expect(app.selected_chat).to_have_attribute("data-chat-id", str(new_chat))
    expect(app.message(started)).to_have_count(1)
    expect(app.messages).to_have_count(1)

    app.select_chat(older)
    expect(app.messages).to_have_count(2)
    shown = app.message_ids()
    app.page.reload()
    expect(app.selected_chat).to_have_attribute("data-chat-id", older)
    expect(app.messages).to_have_count(2)
    assert shown == app.message_ids()

    assert app.tab.url(f"/artifact/{artifact_id}") == app.page.url
    assert history_length == app.page.evaluate("() => history.length")


def test_chat_page_refresh_restores_its_messages(open_app: OpenApp, backend: MakeBackend) -> None:
    """A refresh shows the same chat with the same messages, the one just sent included, at the same URL."""
    alice = backend()
    title = f"Onboarding {marker()}"
    chat_id = alice.create_chat(title)
    for step in range(3):
        alice.send(chat_id, f"step {step} {marker()}")
    app = open_app()
    open_chat(app, chat_id)
    expect(app.messages).to_have_count(3)
    app.send(f"sent before the refresh {marker()}")
    shown = app.message_ids()
    history_length = app.page.evaluate("() => history.length")

    app.page.reload()
    expect(app.hook("chat-title")).to_contain_text(title)
    expect(app.messages).to_have_count(4)
    assert shown == app.message_ids()
    assert [message.id for message in alice.messages(chat_id)] == shown
    assert app.tab.url(f"/threads/{chat_id}") == app.page.url
    assert history_length == app.page.evaluate("() => history.length")
