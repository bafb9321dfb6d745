"""Criterion 9: a refused token shows ``signed-out``; stopped services show, and recovery needs no reload.

A refused token is never a blank page; services that stop leave the page in a visible not-live state, and it
recovers by itself, without a reload, when they return.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from ameide_runtime.auth import mint_token
from tests.browser.acceptance.acc_backend import message_text
from tests.browser.acceptance.acc_page import marker
from tests.browser.acceptance.conftest import USER, MakeBackend, OpenApp, Outage
from tests.browser.conftest import NETWORK_ERRORS, WebStack

pytestmark = pytest.mark.browser

# What Chromium logs when a request through the gateway fails while a service it routes to is stopped.
OUTAGE_ERRORS = rf"{NETWORK_ERRORS.pattern}|status of 50[234]"


def refused_token(web_stack: WebStack, tenant: str, kind: str) -> str:
    """A token the services refuse: expired two hours ago, or signed with another secret."""
    if kind == "expired":
        return mint_token(
            web_stack.stack.jwt_secret, user_id=USER, tenant_id=tenant, ttl_seconds=60, now=time.time() - 7200
        )
    return mint_token("not-the-services-secret-" * 2, user_id=USER, tenant_id=tenant)


@pytest.mark.parametrize("kind", ["expired", "bad-signature"])
@pytest.mark.parametrize("route", ["artifact", "threads", "home"])
def test_a_refused_token_shows_signed_out(
    open_app: OpenApp, backend: MakeBackend, web_stack: WebStack, kind: str, route: str
) -> None:
    """An expired or forged token in storage: the page says signed-out, and shows none of the data."""
    alice = backend()
    title = f"Signed-out check {marker()}"
    artifact_id = alice.create_artifact(title)
    text = f"not for strangers {marker()}"
    chat_id = alice.ensure(artifact_id, text)
    path = {"artifact": f"/artifact/{artifact_id}", "threads": f"/threads/{chat_id}", "home": "/"}[route]
    app = open_app(token=refused_token(web_stack, alice.tenant, kind))
    app.goto(path)
    expect(app.hook("signed-out")).to_be_visible()
    expect(app.messages).to_have_count(0)
    expect(app.chat_items).to_have_count(0)
    assert title not in app.page.content()


def test_a_query_outage_under_an_open_page_recovers_without_a_reload(
    open_app: OpenApp, backend: MakeBackend, outage: Outage
) -> None:
    """The query service stops under a live chat page: reconnecting, then live again with what was missed.

    A message written meanwhile shows once the service is back, with the page still the same document.
    """
    alice = backend()
    chat_id = alice.create_chat(f"Outage drill {marker()}")
    first = f"before the outage {marker()}"
    alice.send(chat_id, first)
    app = open_app()
    app.tab.allow_console_errors(OUTAGE_ERRORS)
    app.goto(f"/threads/{chat_id}")
    expect(app.message(first)).to_have_count(1)
    app.expect_live()
    loaded = app.mark_loaded()

    with outage("query"):
        app.expect_reconnecting()
        meanwhile = f"written during the outage {marker()}"
        alice.send(chat_id, meanwhile)
    app.expect_live()
    expect(app.message(meanwhile)).to_have_count(1)
    expect(app.messages).to_have_count(2)
    assert loaded.document == app.probe_state()["document"]


def test_a_page_opened_during_a_query_outage_loads_when_it_returns(
    open_app: OpenApp, backend: MakeBackend, outage: Outage
) -> None:
    """Opened while the query service is down: not live and nothing shown; it loads by itself once it is back."""
    alice = backend()
    title = f"Late loader {marker()}"
    artifact_id = alice.create_artifact(title)
    text = f"waiting for the read side {marker()}"
    alice.ensure(artifact_id, text)
    app = open_app()
    app.tab.allow_console_errors(OUTAGE_ERRORS)
    with outage("query"):
        app.goto(f"/artifact/{artifact_id}")
        expect(app.hook("live-status")).to_have_text("reconnecting")
        expect(app.page.get_by_text(title)).to_have_count(0)
        loaded = app.mark_loaded()
    expect(app.hook("artifact-title")).to_have_text(title)
    app.expect_live()
    expect(app.chat_items).to_have_count(1)
    assert loaded.document == app.probe_state()["document"]


def test_a_command_outage_keeps_the_draft_and_sends_it_once(
    open_app: OpenApp, backend: MakeBackend, outage: Outage
) -> None:
    """The command service is down when the user sends: the draft is kept, and is delivered once later.

    Once the service is back the message is delivered (by the app's retry or the user's second click) exactly once.
    """
    alice = backend()
    artifact_id = alice.create_artifact(f"Draft keeper {marker()}")
    chat_id = alice.ensure(artifact_id, f"existing chat {marker()}")
    app = open_app()
    app.tab.allow_console_errors(OUTAGE_ERRORS)
    app.goto(f"/artifact/{artifact_id}")
    app.select_chat(chat_id)
    app.expect_live()
    text = f"sent during a command outage {marker()}"
    with outage("command"):
        app.type_message(text)
        app.hook("send-button").click()
        app.wait_write_attempt_settled()
        expect(app.hook("message-input")).to_have_value(text)
        expect(app.message(text)).to_have_count(0)
    app.finish_sending(text)
    expect(app.message(text)).to_have_count(1)
    assert 1 == [message_text(message) for message in alice.messages(chat_id)].count(text)
