"""``GET /dev/token``: development JWTs for the web app, only when ``AMEIDE_WEB_DEV_TOKENS`` is on.

``ameide dev`` turns it on, so a browser with no stored token gets one for the dev user (or, with
``?user=&tenant=``, for anyone: two tabs can be two people). Never on by default: it hands out valid tokens to
whoever asks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus

from ameide_runtime.auth import MAX_ID_CHARS, mint_token
from ameide_web.config import WebSettings
from ameide_web.wire import Response

DEFAULT_USER = "dev-user"
DEFAULT_TENANT = "dev-tenant"
TOKEN_TTL_SECONDS = 24 * 3600
_NO_STORE = (("Content-Type", "application/json"), ("Cache-Control", "no-store"))


@dataclass(frozen=True, slots=True)
class DevTokens:
    """Mints tokens the services accept (their secret, tenant claim, audience and issuer)."""

    secret: str
    tenant_claim: str = "tenant_id"
    audience: str = ""
    issuer: str = ""

    @classmethod
    def from_settings(cls, settings: WebSettings) -> DevTokens | None:
        """The minter when development tokens are on, else ``None``."""
        if not settings.web_dev_tokens:
            return None
        return cls(
            secret=settings.jwt_secret,
            tenant_claim=settings.jwt_tenant_claim,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )

    def respond(self, query: Mapping[str, list[str]]) -> Response:
        """``{"token": ...}`` for the requested (or default) user and tenant; 400 with ``{"error": ...}`` else."""
        try:
            user = _identity(query, "user", DEFAULT_USER)
            tenant = _identity(query, "tenant", DEFAULT_TENANT)
        except ValueError as exc:
            return json_response(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        token = mint_token(
            self.secret,
            user_id=user,
            tenant_id=tenant,
            ttl_seconds=TOKEN_TTL_SECONDS,
            tenant_claim=self.tenant_claim,
            audience=self.audience,
            issuer=self.issuer,
        )
        return json_response(HTTPStatus.OK, {"token": token, "user": user, "tenant": tenant})


def _identity(query: Mapping[str, list[str]], name: str, default: str) -> str:
    values = query.get(name)
    if values is None:
        return default
    if len(values) != 1:
        raise ValueError(f"{name} must be given once")
    value = values[0]
    # The services' own rule for a caller id (ameide_runtime.auth).
    if not value or len(value) > MAX_ID_CHARS or not value.isprintable() or value.strip() != value:
        raise ValueError(f"{name} must be 1 to {MAX_ID_CHARS} printable characters without surrounding spaces")
    return value


def json_response(status: HTTPStatus, payload: Mapping[str, object]) -> Response:
    """A small JSON answer that no cache keeps."""
    return Response(status, _NO_STORE, json.dumps(payload).encode())
