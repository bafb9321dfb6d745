"""The web deployable's answers: SPA fallback, cache policy, gzip, ETags, health, development tokens."""

from __future__ import annotations

import gzip
import json
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import pytest

from ameide_runtime.settings import SettingsError
from ameide_web.bundle import IMMUTABLE, REVALIDATE, Bundle, BundleError, shipped_directory
from ameide_web.config import WebSettings
from ameide_web.dev_tokens import DEFAULT_TENANT, DEFAULT_USER, DevTokens
from ameide_web.routes import WebApp
from ameide_web.wire import Request, Response

pytestmark = pytest.mark.unit

SECRET = "s" * 32
SCRIPT = "console.log('app');\n" * 64  # large enough to be served gzipped


@pytest.fixture(name="bundle")
def fixture_bundle(tmp_path: Path) -> Bundle:
    """A small bundle: the page, one hashed script, a favicon and a hidden file."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<!doctype html><script src="/assets/app-ABCD1234.js"></script>')
    (tmp_path / "assets" / "app-ABCD1234.js").write_text(SCRIPT)
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path / ".hidden").write_text("not served")
    return Bundle.load(tmp_path)


def get(path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Request:
    """A parsed request for ``path`` (with its query string)."""
    target, _, query = path.partition("?")
    return Request(method, target, parse_qs(query, keep_blank_values=True), "HTTP/1.1", headers or {})


def header(response: Response, name: str) -> str | None:
    """A response header by case-insensitive name."""
    return next((value for key, value in response.headers if key.lower() == name.lower()), None)


@pytest.mark.parametrize(
    "path", ["/", "/artifact/6c1f0a7e-9f4e-4b55-9b43-0a2b7f1f1e01", "/threads/x/y", "/artifact/not-a-uuid"]
)
def test_every_app_route_gets_the_page(bundle: Bundle, path: str) -> None:
    """A refresh on any route of the app loads the app: index.html with 200, never cached without revalidation."""
    response = WebApp(bundle).respond(get(path))
    assert response.status is HTTPStatus.OK
    assert response.body == bundle.index.body
    assert header(response, "Content-Type") == "text/html; charset=utf-8"
    assert header(response, "Cache-Control") == REVALIDATE
    assert "script-src 'self'" in (header(response, "Content-Security-Policy") or "")


def test_hashed_assets_are_immutable_and_other_files_revalidate(bundle: Bundle) -> None:
    """Content-hashed names never change content; the favicon may."""
    script = WebApp(bundle).respond(get("/assets/app-ABCD1234.js"))
    assert script.status is HTTPStatus.OK
    assert header(script, "Content-Type") == "text/javascript; charset=utf-8"
    assert header(script, "Cache-Control") == IMMUTABLE
    icon = WebApp(bundle).respond(get("/favicon.svg"))
    assert header(icon, "Content-Type") == "image/svg+xml"
    assert header(icon, "Cache-Control") == REVALIDATE


def test_a_missing_asset_is_404_not_the_page(bundle: Bundle) -> None:
    """A stale page asking for an old hashed script gets a 404, not HTML it would try to run."""
    response = WebApp(bundle).respond(get("/assets/app-OLDHASH0.js"))
    assert response.status is HTTPStatus.NOT_FOUND
    assert b"<html" not in response.body


def test_dot_files_are_not_served(bundle: Bundle) -> None:
    """Hidden files in the bundle folder stay private: the path falls back to the page."""
    assert "/.hidden" not in bundle.files
    assert WebApp(bundle).respond(get("/.hidden")).body == bundle.index.body


def test_gzip_when_accepted_and_etag_revalidation(bundle: Bundle) -> None:
    """Compressed when the client accepts gzip; a matching If-None-Match gets 304 without a body."""
    app = WebApp(bundle)
    zipped = app.respond(get("/assets/app-ABCD1234.js", {"accept-encoding": "br, gzip"}))
    assert header(zipped, "Content-Encoding") == "gzip"
    assert gzip.decompress(zipped.body).decode() == SCRIPT
    assert header(zipped, "Vary") == "Accept-Encoding"
    refused = app.respond(get("/assets/app-ABCD1234.js", {"accept-encoding": "gzip;q=0"}))
    assert header(refused, "Content-Encoding") is None
    assert refused.body.decode() == SCRIPT
    etag = header(zipped, "ETag")
    assert etag is not None
    again = app.respond(get("/assets/app-ABCD1234.js", {"if-none-match": f'"other", {etag}'}))
    assert again.status is HTTPStatus.NOT_MODIFIED
    assert again.body == b""


def test_only_get_and_head(bundle: Bundle) -> None:
    """Writes are not a thing here: 405 naming the allowed methods."""
    response = WebApp(bundle).respond(get("/", method="POST"))
    assert response.status is HTTPStatus.METHOD_NOT_ALLOWED
    assert header(response, "Allow") == "GET, HEAD"


def test_health_turns_unavailable_while_draining(bundle: Bundle) -> None:
    """Load balancers stop sending once shutdown begins."""
    app = WebApp(bundle)
    assert app.respond(get("/healthz")).status is HTTPStatus.OK
    app.draining = True
    draining = app.respond(get("/healthz"))
    assert draining.status is HTTPStatus.SERVICE_UNAVAILABLE
    assert json.loads(draining.body) == {"status": "draining"}


def test_dev_tokens_are_off_unless_turned_on(bundle: Bundle) -> None:
    """Without AMEIDE_WEB_DEV_TOKENS, /dev/token is just a route of the app: no token is handed out."""
    settings = WebSettings.from_env({"AMEIDE_JWT_SECRET": SECRET})
    assert DevTokens.from_settings(settings) is None
    response = WebApp(bundle).respond(get("/dev/token"))
    assert b"token" not in response.body
    assert response.body == bundle.index.body


def test_dev_tokens_need_the_signing_secret() -> None:
    """Turning development tokens on without a secret stops the process with the variable's name."""
    with pytest.raises(SettingsError, match="AMEIDE_WEB_DEV_TOKENS"):
        WebSettings.from_env({"AMEIDE_WEB_DEV_TOKENS": "true"})


def test_dev_token_defaults_to_the_dev_user_and_takes_others(bundle: Bundle) -> None:
    """The token is signed with the services' secret, for the dev user or the one asked for."""
    settings = WebSettings.from_env({"AMEIDE_JWT_SECRET": SECRET, "AMEIDE_WEB_DEV_TOKENS": "1"})
    app = WebApp(bundle, DevTokens.from_settings(settings))
    default = app.respond(get("/dev/token"))
    assert default.status is HTTPStatus.OK
    assert header(default, "Cache-Control") == "no-store"
    claims = jwt.decode(json.loads(default.body)["token"], SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["tenant_id"]) == (DEFAULT_USER, DEFAULT_TENANT)
    bob = json.loads(app.respond(get("/dev/token?user=bob&tenant=acme")).body)
    assert jwt.decode(bob["token"], SECRET, algorithms=["HS256"])["sub"] == "bob"
    assert (bob["user"], bob["tenant"]) == ("bob", "acme")


@pytest.mark.parametrize(
    ("query", "field"),
    [("user=", "user"), ("tenant=%20acme", "tenant"), ("user=" + "u" * 129, "user"), ("user=a&user=b", "user")],
)
def test_dev_token_rejects_bad_identities_with_json(bundle: Bundle, query: str, field: str) -> None:
    """Bad user/tenant values: 400 with a JSON error naming the parameter, never a token."""
    settings = WebSettings.from_env({"AMEIDE_JWT_SECRET": SECRET, "AMEIDE_WEB_DEV_TOKENS": "true"})
    response = WebApp(bundle, DevTokens.from_settings(settings)).respond(get(f"/dev/token?{query}"))
    assert response.status is HTTPStatus.BAD_REQUEST
    assert header(response, "Content-Type") == "application/json"
    assert json.loads(response.body)["error"].startswith(field)


def test_a_folder_without_index_is_refused(tmp_path: Path) -> None:
    """A wrong AMEIDE_WEB_STATIC_DIR is a clear start-up error."""
    with pytest.raises(BundleError, match=r"index\.html"):
        Bundle.load(tmp_path)


def test_the_shipped_bundle_loads() -> None:
    """The committed bundle is inside the package: a page and at least one hashed script."""
    bundle = Bundle.load(shipped_directory())
    assert b'<div id="root">' in bundle.index.body
    assert any(path.startswith("/assets/") and path.endswith(".js") for path in bundle.files)
