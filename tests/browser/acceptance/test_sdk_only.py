"""All data operations go through the SDK, and the frontend has no direct database access.

Everything the pages request, through a whole session of use, is the app's own origin: its documents, the committed
bundle's files, the development token, and gRPC-Web calls of the contract's services (the four of chats and
artifacts, and the live signals' presence). Nothing else, nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Request, expect

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2
from ameide_core_proto.live.v1 import live_service_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2
from ameide_web.bundle import Bundle, shipped_directory
from ameide_web.dev_tokens import DEFAULT_TENANT, DEFAULT_USER
from tests.browser.acceptance.acc_page import App, marker
from tests.browser.acceptance.conftest import USER, MakeBackend, OpenApp

pytestmark = pytest.mark.browser

APP_ROUTE = re.compile(r"^/(artifact/[^/]+|threads/[^/]+)?$")
DATABASE_URLS = re.compile(rb"(postgres(ql)?|redis)(\+\w+)?://")


def contract_methods() -> set[str]:
    """``/package.Service/Method`` of every RPC of the contract."""
    methods = set()
    for module in (threads_service_pb2, artifacts_service_pb2, live_service_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            methods |= {f"/{service.full_name}/{method.name}" for method in service.methods}
    return methods


@dataclass
class Traffic:
    """Every request the tab made, sorted by what it is."""

    origin: str
    static_paths: frozenset[str]
    rpcs: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    def see(self, request: Request) -> None:
        """Sort one request."""
        url = urlsplit(request.url)
        if url.scheme in ("data", "blob"):
            return  # in-page resources, never the network
        same_origin = f"{url.scheme}://{url.netloc}" == self.origin
        if same_origin and request.method == "POST" and url.path in contract_methods():
            content_type = request.headers.get("content-type", "")
            if content_type.startswith("application/grpc-web"):
                self.rpcs.append(url.path)
                return
        if same_origin and request.method in ("GET", "HEAD") and self.is_app_file(url.path, request.resource_type):
            return
        self.other.append(f"{request.method} {request.url} ({request.resource_type})")

    def is_app_file(self, path: str, resource_type: str) -> bool:
        """True for a route of the app (a document), a file of the bundle, or the development token."""
        if resource_type == "document":
            return bool(APP_ROUTE.match(path))
        return path in self.static_paths or path == "/dev/token"


def watch(app: App) -> Traffic:
    """Record every request of the tab's context from now on."""
    static = frozenset(path for path in Bundle.load(shipped_directory()).files if path != "/index.html")
    traffic = Traffic(origin=app.tab.base_url, static_paths=static)
    app.tab.context.on("request", traffic.see)
    return traffic


@pytest.mark.parametrize("token", ["stored", "fetched-in-dev"])
def test_every_request_is_the_apps_own_origin_and_contract(open_app: OpenApp, backend: MakeBackend, token: str) -> None:
    """A session of use makes only gRPC-Web calls of the contract and reads only the app's own files.

    Home, an artifact with a first message, its chat's page, a search: all on the app's own origin.
    """
    stored = token == "stored"
    user, tenant = (USER, None) if stored else (DEFAULT_USER, DEFAULT_TENANT)
    title = f"Data path {marker()}"
    artifact_id = backend(user, tenant).create_artifact(title, body=b"through the SDK only")
    app = open_app(user, tenant, seed_token=stored)
    traffic = watch(app)

    app.goto("/")
    expect(app.artifact_item(artifact_id)).to_have_count(1)
    app.goto(f"/artifact/{artifact_id}")
    expect(app.hook("artifact-title")).to_have_text(title)
    app.send(f"first message {marker()}")
    chat_id = app.selected_chat.get_attribute("data-chat-id")
    app.goto(f"/threads/{chat_id}")
    app.expect_live()
    app.send(f"second message {marker()}")
    app.goto("/")
    app.search("message")

    assert [] == traffic.other, "requests outside the app's origin, files and contract"
    called = {path.rsplit("/", 1)[1] for path in traffic.rpcs}
    assert {"GetArtifact", "EnsureChatForArtifactAndSendMessage", "GetMessages", "SearchChats"} <= called


def test_the_bundle_names_no_database() -> None:
    """The shipped files hold no PostgreSQL or Redis URL: the frontend cannot reach storage even by mistake."""
    for path, asset in Bundle.load(shipped_directory()).files.items():
        assert DATABASE_URLS.search(asset.body) is None, f"{path} names a database URL"
