"""What the web deployable answers: health, development tokens (when on), the bundle's files, and the app.

Any GET that names no file of the bundle is a route of the app (``/artifact/<id>``, ``/threads/<id>``, ...) and
gets ``index.html`` with 200 (the SPA fallback), so a refresh on any route loads the app; only a missing file
under ``/assets/`` is a 404, so a stale page asking for an old hashed script fails loudly instead of being
handed HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus

from ameide_web.bundle import HASHED_DIR, Asset, Bundle
from ameide_web.dev_tokens import DevTokens, json_response
from ameide_web.wire import Request, Response

HEALTH_PATH = "/healthz"
DEV_TOKEN_PATH = "/dev/token"  # noqa: S105 - a URL path, not a secret
# The app talks only to its own origin (the gateway); titles and messages are rendered as text, and this policy
# keeps any markup that slipped through from running scripts or loading anything.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'self'"
)
_COMMON = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"))
_PAGE = (*_COMMON, ("Content-Security-Policy", CONTENT_SECURITY_POLICY))


@dataclass(slots=True)
class WebApp:
    """Routes one request to its response; ``draining`` turns health to 503 during shutdown."""

    bundle: Bundle
    dev_tokens: DevTokens | None = None
    draining: bool = field(default=False)

    def respond(self, request: Request) -> Response:
        """The response to ``request`` (its body is left out for HEAD by the caller)."""
        if request.method not in {"GET", "HEAD"}:
            return Response(HTTPStatus.METHOD_NOT_ALLOWED, (*_COMMON, ("Allow", "GET, HEAD")), b"")
        if request.path == HEALTH_PATH:
            if self.draining:
                return json_response(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "draining"})
            return json_response(HTTPStatus.OK, {"status": "serving", "files": len(self.bundle.files)})
        if request.path == DEV_TOKEN_PATH and self.dev_tokens is not None:
            return self.dev_tokens.respond(request.query)
        asset = self.bundle.files.get(request.path)
        if asset is None:
            if request.path.startswith(f"/{HASHED_DIR}/"):
                return Response(HTTPStatus.NOT_FOUND, (*_COMMON, ("Content-Type", "text/plain")), b"not found\n")
            asset = self.bundle.index
        return _file(asset, request)


def _file(asset: Asset, request: Request) -> Response:
    headers = [
        *(_PAGE if asset.content_type.startswith("text/html") else _COMMON),
        ("Content-Type", asset.content_type),
        ("Cache-Control", asset.cache_control),
        ("ETag", asset.etag),
    ]
    if asset.gzipped is not None:
        headers.append(("Vary", "Accept-Encoding"))
    if asset.etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(HTTPStatus.NOT_MODIFIED, tuple(headers), b"")
    if asset.gzipped is not None and _accepts_gzip(request.headers.get("accept-encoding", "")):
        headers.append(("Content-Encoding", "gzip"))
        return Response(HTTPStatus.OK, tuple(headers), asset.gzipped)
    return Response(HTTPStatus.OK, tuple(headers), asset.body)


def _accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "") not in {"q=0", "q=0.0", "q=0.00", "q=0.000"}
    return False
