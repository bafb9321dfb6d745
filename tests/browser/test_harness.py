"""The browser harness itself, through the reference app.

SPA fallback, dev token, gRPC-Web unary and live stream through Envoy, CORS from another origin, cutting and
restoring one tab's network, console-error collection.
"""

from __future__ import annotations

import json
import uuid

import grpc
import pytest
from playwright.sync_api import expect

from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc, threads_types_pb2
from tests.browser.conftest import TOKEN_KEY, OpenTab, WebStack

pytestmark = pytest.mark.browser

LIST_CHATS = "/ameide_core_proto.threads.v1.ChatQueryService/ListChats"
# Fetches ListChats as gRPC-Web (an empty request is one empty frame) and reports what the page may read.
GRPC_WEB_FETCH = """async ([url, token]) => {
  const headers = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"};
  if (token) headers["authorization"] = "Bearer " + token;
  try {
    const reply = await fetch(url, {method: "POST", headers, body: new Uint8Array(5)});
    const body = new Uint8Array(await reply.arrayBuffer());
    return {status: reply.status, grpcStatus: reply.headers.get("grpc-status"),
            trailer: new TextDecoder().decode(body.slice(body.length - 40))};
  } catch (error) {
    return {error: String(error)};
  }
}"""


class Chats:
    """Writes through the command service's gRPC port, as another client of the same tenant would."""

    def __init__(self, web_stack: WebStack, user: str, tenant: str) -> None:
        self._channel = grpc.insecure_channel(web_stack.stack.command_target)
        self._stub = threads_service_pb2_grpc.ChatCommandServiceStub(self._channel)
        self._auth = web_stack.stack.metadata(user, tenant)

    def create(self, title: str) -> str:
        """A new chat's id."""
        reply = self._stub.CreateChat(threads_service_pb2.CreateChatRequest(title=title), metadata=self._auth)
        return str(reply.threads.id)

    def send(self, chat_id: str, text: str) -> None:
        """Send a text message."""
        message = threads_types_pb2.ChatMessageInput(
            role="user", parts=[threads_types_pb2.MessagePart(text=threads_types_pb2.TextPart(text=text))]
        )
        request = threads_service_pb2.SendMessageRequest(threads_id=chat_id, message=message)
        self._stub.SendMessage(request, metadata=self._auth)


@pytest.mark.parametrize("route", ["artifact", "threads"])
def test_app_routes_load_through_the_spa_fallback(open_tab: OpenTab, tenant: str, route: str) -> None:
    """A deep link (or a refresh) on /artifact/<id> and /threads/<id> loads the app, URL and history untouched."""
    tab = open_tab("alice", tenant)
    path = f"/{route}/{uuid.uuid4()}"
    tab.goto(path)
    expect(tab.page.get_by_test_id("not-found")).to_be_visible()  # the app ran and asked the services
    loaded = tab.page.evaluate("() => [location.pathname, history.length]")
    tab.page.reload()
    expect(tab.page.get_by_test_id("not-found")).to_be_visible()
    assert tab.page.evaluate("() => [location.pathname, history.length]") == loaded
    assert loaded[0] == path


def test_without_a_stored_token_the_app_gets_a_dev_token(open_tab: OpenTab) -> None:
    """Empty storage: the page asks /dev/token, stores the token, and the calls with it succeed."""
    tab = open_tab(seed_token=False)
    tab.goto("/")
    expect(tab.page.get_by_test_id("dev-user")).to_have_value("dev-user@dev-tenant")
    expect(tab.page.get_by_role("heading", name="Your chats")).to_be_visible()
    expect(tab.page.get_by_test_id("signed-out")).to_have_count(0)
    token = tab.page.evaluate(f"() => localStorage.getItem({json.dumps(TOKEN_KEY)})")
    assert token.count(".") == 2  # a JWT


def test_unary_call_and_live_stream_through_the_gateway(open_tab: OpenTab, web_stack: WebStack, tenant: str) -> None:
    """ListChats answers through Envoy; a message sent elsewhere arrives on the page's open stream."""
    chats = Chats(web_stack, "alice", tenant)
    chat_id = chats.create("first")
    chats.create("second")
    tab = open_tab("alice", tenant)
    tab.goto("/")
    expect(tab.page.get_by_test_id("chat-item")).to_have_count(2)
    tab.goto(f"/threads/{chat_id}")
    expect(tab.page.get_by_test_id("live-status")).to_have_text("live")
    chats.send(chat_id, "hello from another client")
    expect(tab.page.get_by_test_id("message")).to_have_text(["hello from another client"])


def test_cors_lets_a_local_origin_call_and_read_the_status(open_tab: OpenTab, web_stack: WebStack, tenant: str) -> None:
    """A page on another local origin calls the gateway cross-origin and can read grpc-status (exposed)."""
    tab = open_tab("alice", tenant)
    for origin in ("http://localhost:5173", "http://evil.example"):
        tab.page.route(f"{origin}/**", lambda route: route.fulfill(body="<!doctype html><p>elsewhere</p>"))
        # Pages served by interception count as public; let them reach loopback so only CORS decides.
        tab.context.grant_permissions(["local-network-access"], origin=origin)
    url = web_stack.gateway.url + LIST_CHATS
    tab.page.goto("http://localhost:5173/")
    anonymous = tab.page.evaluate(GRPC_WEB_FETCH, [url, ""])
    assert (anonymous["status"], anonymous["grpcStatus"]) == (200, "16")  # UNAUTHENTICATED, read cross-origin
    signed_in = tab.page.evaluate(GRPC_WEB_FETCH, [url, web_stack.token("alice", tenant)])
    assert "grpc-status:0" in signed_in["trailer"].replace(" ", "")
    tab.allow_console_errors(r"blocked by CORS policy|net::ERR_FAILED")
    tab.page.goto("http://evil.example/")
    refused = tab.page.evaluate(GRPC_WEB_FETCH, [url, ""])
    assert "Failed to fetch" in refused["error"]


def test_cutting_one_tab_drops_its_stream_and_restore_reconnects(
    open_tab: OpenTab, web_stack: WebStack, tenant: str
) -> None:
    """A cut ends tab A's open stream while tab B keeps receiving; after restore, A follows again by itself."""
    chats = Chats(web_stack, "alice", tenant)
    chat_id = chats.create("cut")
    a, b = open_tab("alice", tenant), open_tab("alice", tenant)
    for tab in (a, b):
        tab.goto(f"/threads/{chat_id}")
        expect(tab.page.get_by_test_id("live-status")).to_have_text("live")
    a.cut()
    expect(a.page.get_by_test_id("live-status")).to_have_text("reconnecting")
    chats.send(chat_id, "while A is cut")
    expect(b.page.get_by_test_id("message")).to_have_text(["while A is cut"])
    expect(a.page.get_by_test_id("message")).to_have_count(0)
    a.restore()
    expect(a.page.get_by_test_id("live-status")).to_have_text("live")
    chats.send(chat_id, "after restore")
    expect(a.page.get_by_test_id("message")).to_have_text(["while A is cut", "after restore"])


def test_console_errors_are_collected_and_only_allowed_ones_pass(open_tab: OpenTab) -> None:
    """What the page logs as an error is caught; a test must allow it explicitly or it fails."""
    tab = open_tab()
    tab.goto("/")
    with tab.page.expect_console_message(lambda message: message.type == "error"):
        tab.page.evaluate("() => console.error('boom from the page')")
    assert tab.unexpected_console_errors() == ["console.error: boom from the page"]
    tab.allow_console_errors("boom from the page")
    assert tab.unexpected_console_errors() == []
