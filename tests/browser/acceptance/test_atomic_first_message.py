"""Criterion 3 and "idempotency prevents duplicate operations": one first message, one chat, one message.

The first message from an artifact page creates exactly one chat and one message, whether clicked once, twice, or
retried after its response was lost.

The backend is checked through gRPC after a barrier (see acc_backend), so a duplicate written by a second request
would be counted, however late it was projected.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ameide_core_proto.threads.v1.threads_service_pb2 import EnsureChatForArtifactAndSendMessageRequest as EnsureRequest
from tests.browser.acceptance.acc_backend import Backend, message_text
from tests.browser.acceptance.acc_page import ENSURE_PATH, App, LoseFirstAnswer, grpc_web_request, marker
from tests.browser.acceptance.conftest import MakeBackend, OpenApp

pytestmark = pytest.mark.browser


def artifact_page(open_app: OpenApp, alice: Backend) -> tuple[App, str]:
    """A new artifact without chats, open in a tab; the tab and the artifact's id."""
    title = f"Invoice flow {marker()}"
    artifact_id = alice.create_artifact(title)
    app = open_app()
    app.goto(f"/artifact/{artifact_id}")
    expect(app.hook("artifact-title")).to_have_text(title)
    app.expect_live()
    expect(app.chat_items).to_have_count(0)
    return app, artifact_id


def assert_one_chat_with_one_message(app: App, alice: Backend, artifact_id: str, text: str) -> None:
    """The page and the backend agree: one chat about the artifact, holding exactly ``text``."""
    expect(app.chat_items).to_have_count(1)
    expect(app.message(text)).to_have_count(1)
    chats = alice.artifact_chats(artifact_id)
    assert 1 == len(chats), f"{len(chats)} chats were created"
    assert [text] == [message_text(message) for message in alice.messages(chats[0].threads_id)]
    everyone = alice.chats(alice.chat_barrier(chats[0].threads_id))
    assert [chats[0].threads_id] == [chat.id for chat in everyone]
    assert chats[0].threads_id == app.selected_chat.get_attribute("data-chat-id")


def test_one_click_creates_one_chat_and_one_message(open_app: OpenApp, backend: MakeBackend) -> None:
    """One click on send: one chat linked to the artifact, one message, shown and selected."""
    alice = backend()
    app, artifact_id = artifact_page(open_app, alice)
    text = f"is the approval step needed? {marker()}"
    app.send(text)
    assert_one_chat_with_one_message(app, alice, artifact_id, text)


@pytest.mark.parametrize("how", ["double-click", "two-clicks-in-one-task"])
def test_a_double_click_still_sends_once(open_app: OpenApp, backend: MakeBackend, how: str) -> None:
    """A double click (and two clicks before the page can even re-render) create one chat and one message."""
    alice = backend()
    app, artifact_id = artifact_page(open_app, alice)
    text = f"double submit {marker()}"
    app.type_message(text)
    if how == "double-click":
        app.hook("send-button").dblclick()
    else:
        app.page.evaluate(
            "() => { const button = document.querySelector('[data-testid=\"send-button\"]');"
            " button.click(); button.click(); }"
        )
    expect(app.message(text)).to_have_count(1)
    expect(app.hook("message-input")).to_have_value("")
    assert_one_chat_with_one_message(app, alice, artifact_id, text)


def test_a_retried_request_after_a_lost_response_reuses_its_key(open_app: OpenApp, backend: MakeBackend) -> None:
    """A lost response is retried with the same idempotency key: one chat, one message.

    The first Ensure reaches the server and its response is lost on the way back; the retry (the app's own, or the
    user's second click once the composer gives up) must carry the same key.
    """
    alice = backend()
    app, artifact_id = artifact_page(open_app, alice)
    lose = LoseFirstAnswer()
    app.page.route(ENSURE_PATH, lose)
    app.tab.allow_console_errors(r"net::ERR_CONNECTION_RESET")
    text = f"sent once despite a lost response {marker()}"
    app.send_until_delivered(text)

    keys = [grpc_web_request(body, EnsureRequest).idempotency_key for body in lose.bodies]
    assert [200] == lose.lost
    assert len(keys) >= 2, "the lost response was never retried"
    assert 1 == len(set(keys)), f"the retry used another idempotency key: {keys}"
    assert_one_chat_with_one_message(app, alice, artifact_id, text)
