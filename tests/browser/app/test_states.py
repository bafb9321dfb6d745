"""The states besides showing data, and the development sign-in.

Signed out, not found, unavailable and back, reconnecting and resumed; the development user switcher.
"""

from __future__ import annotations

import json
import uuid

import pytest
from playwright.sync_api import Route, expect

from ameide_runtime.auth import mint_token
from tests.browser.app.conftest import MakeSeed
from tests.browser.conftest import TOKEN_KEY, OpenTab, WebStack

pytestmark = pytest.mark.browser

# What a browser logs while the services it calls are down (the gateway answers 503, or the fetch fails).
SERVICE_DOWN = r"503|Failed to load resource|net::ERR_"


def test_an_unknown_route_is_a_not_found_page(open_tab: OpenTab, tenant: str) -> None:
    """A path the app has no page for: not-found, with a way home."""
    tab = open_tab("alice", tenant)
    tab.goto("/no/such/page")
    expect(tab.page.get_by_test_id("not-found")).to_contain_text("Page not found")
    tab.page.get_by_role("link", name="Go to your chats and artifacts").click()
    expect(tab.page.get_by_test_id("search-input")).to_be_visible()


@pytest.mark.parametrize("page", ["/", "/threads/{chat}", "/artifact/{artifact}"])
def test_an_expired_token_signs_out_every_page(
    open_tab: OpenTab, seed: MakeSeed, web_stack: WebStack, tenant: str, page: str
) -> None:
    """A refused token (expired): the signed-out state says so, nothing of the data shows, never a blank page."""
    alice = seed("alice", tenant)
    artifact = alice.artifact("Private plans")
    chat = alice.about(artifact, "private words").chat_id
    expired = mint_token(web_stack.stack.jwt_secret, user_id="alice", tenant_id=tenant, ttl_seconds=-60)
    tab = open_tab(token=expired)
    tab.goto(page.format(chat=chat, artifact=artifact))
    expect(tab.page.get_by_test_id("signed-out")).to_contain_text("Your session has expired")
    assert "private words" not in tab.page.content()
    assert "Private plans" not in tab.page.content()


def test_a_garbage_token_signs_out_and_a_dev_user_signs_back_in(open_tab: OpenTab) -> None:
    """On a development server the signed-out state offers its development users; choosing one signs in."""
    tab = open_tab(token="not-a-jwt")
    tab.goto("/")
    signed_out = tab.page.get_by_test_id("signed-out")
    expect(signed_out).to_contain_text("not accepted")
    signed_out.get_by_role("button", name="dev-user @ dev-tenant").click()
    expect(tab.page.get_by_test_id("search-input")).to_be_visible()
    expect(signed_out).to_have_count(0)
    assert tab.page.evaluate(f"() => localStorage.getItem({json.dumps(TOKEN_KEY)})").count(".") == 2


def test_without_a_token_on_a_production_server_the_page_is_signed_out(open_tab: OpenTab) -> None:
    """No token and no development tokens (the server answers /dev/token with the app, as in production)."""
    tab = open_tab(seed_token=False)
    index = tab.page.request.get(tab.url("/")).text()

    def production(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=index)

    tab.page.route("**/dev/token*", production)
    tab.goto("/artifact/" + str(uuid.uuid4()))
    expect(tab.page.get_by_test_id("signed-out")).to_contain_text("You are not signed in")
    expect(tab.page.get_by_test_id("signed-out")).to_contain_text("Sign in again through your application")
    expect(tab.page.get_by_test_id("dev-user")).to_have_count(0)
    assert tab.page.evaluate(f"() => localStorage.getItem({json.dumps(TOKEN_KEY)})") is None


def test_the_dev_switcher_makes_two_tabs_of_one_browser_two_people(open_tab: OpenTab) -> None:
    """Tab 1 switches to alice; tab 2 of the same browser stays the default dev user, and both stay so on refresh."""
    first = open_tab(seed_token=False)
    first.goto("/")
    switcher = first.page.get_by_test_id("dev-user")
    expect(switcher).to_have_value("dev-user@dev-tenant")
    second = first.context.new_page()
    second.goto(first.url("/"))
    switcher.select_option("alice@dev-tenant")
    expect(switcher).to_have_value("alice@dev-tenant")
    expect(first.page.get_by_test_id("search-input")).to_be_visible()
    expect(second.get_by_test_id("dev-user")).to_have_value("dev-user@dev-tenant")
    second.reload()
    first.page.reload()
    expect(second.get_by_test_id("dev-user")).to_have_value("dev-user@dev-tenant")
    expect(first.page.get_by_test_id("dev-user")).to_have_value("alice@dev-tenant")


def test_a_dropped_stream_reconnects_and_brings_what_was_missed_once_in_order(
    open_tab: OpenTab, seed: MakeSeed, tenant: str
) -> None:
    """Cut tab B: reconnecting; three messages meanwhile; back: live, each of them once, in order."""
    alice = seed("alice", tenant)
    chat_id = alice.chat("Resume")
    alice.send(chat_id, "before")
    tab = open_tab("alice", tenant)
    tab.goto(f"/threads/{chat_id}")
    status = tab.page.get_by_test_id("live-status")
    expect(status).to_have_text("live")
    tab.cut()
    expect(status).to_have_text("reconnecting")
    for i in range(3):
        alice.send(chat_id, f"missed {i}")
    tab.restore()
    expect(status).to_have_text("live")
    expect(tab.page.get_by_test_id("message")).to_have_text(["before", "missed 0", "missed 1", "missed 2"])


def test_a_message_sent_while_the_network_is_down_arrives_once(open_tab: OpenTab, seed: MakeSeed, tenant: str) -> None:
    """The network drops as the user sends: the page says it is reconnecting; once back, the message is there once."""
    alice = seed("alice", tenant)
    artifact_id = alice.artifact("Offline")
    tab = open_tab("alice", tenant)
    tab.goto(f"/artifact/{artifact_id}")
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")
    tab.cut()
    tab.page.get_by_test_id("message-input").fill("sent while offline")
    tab.page.get_by_test_id("send-button").click()
    tab.page.get_by_test_id("send-button").click()
    expect(tab.page.get_by_test_id("live-status")).to_have_text("reconnecting")
    tab.restore()
    expect(tab.page.get_by_test_id("message")).to_have_text(["sent while offline"])
    expect(tab.page.get_by_test_id("chat-item")).to_have_count(1)
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")


def test_services_down_show_an_error_state_and_the_page_recovers_by_itself(
    open_tab: OpenTab, seed: MakeSeed, web_stack: WebStack, tenant: str
) -> None:
    """Query service stopped: the page says it is unreachable (with retry); started again, it loads and goes live."""
    alice = seed("alice", tenant)
    artifact_id = alice.artifact("Resilient")
    alice.about(artifact_id, "still here")
    tab = open_tab("alice", tenant)
    tab.allow_console_errors(SERVICE_DOWN)
    web_stack.stack.stop("query")
    try:
        tab.goto(f"/artifact/{artifact_id}")
        expect(tab.page.get_by_test_id("unavailable")).to_contain_text("Cannot reach the service")
        expect(tab.page.get_by_role("button", name="Retry now")).to_be_visible()
        expect(tab.page.get_by_test_id("live-status")).to_have_text("reconnecting")
    finally:
        web_stack.stack.start("query")
    expect(tab.page.get_by_test_id("artifact-title")).to_have_text("Resilient")
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")
    expect(tab.page.get_by_test_id("unavailable")).to_have_count(0)


def test_a_stream_lost_to_a_restart_of_the_services_comes_back(
    open_tab: OpenTab, seed: MakeSeed, web_stack: WebStack, tenant: str
) -> None:
    """The page is live when the query service goes away: reconnecting, then live again on its own, nothing lost."""
    alice = seed("alice", tenant)
    chat_id = alice.chat("Restart")
    tab = open_tab("alice", tenant)
    tab.allow_console_errors(SERVICE_DOWN)
    tab.goto(f"/threads/{chat_id}")
    status = tab.page.get_by_test_id("live-status")
    expect(status).to_have_text("live")
    web_stack.stack.stop("query")
    try:
        expect(status).to_have_text("reconnecting")
        alice.send(chat_id, "written while the query service was down", wait=False)
    finally:
        web_stack.stack.start("query")
    expect(status).to_have_text("live")
    expect(tab.page.get_by_test_id("message")).to_have_text(["written while the query service was down"])
