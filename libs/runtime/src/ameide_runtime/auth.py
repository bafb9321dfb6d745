"""Authentication: who is calling, established once per RPC and bound to ``ameide_runtime.identity``.

Two modes (``AMEIDE_AUTH``):

- ``jwt`` (production): ``authorization: Bearer <JWT>``. HS* tokens are verified with ``AMEIDE_JWT_SECRET``,
  RS*/ES*/PS*/EdDSA tokens with ``AMEIDE_JWT_PUBLIC_KEY``; only ``AMEIDE_JWT_ALGORITHMS`` are accepted ("none"
  never). ``sub`` is the user, ``AMEIDE_JWT_TENANT_CLAIM`` the tenant; ``exp`` is required, ``exp``/``nbf`` are
  checked with 30 s leeway, ``aud``/``iss`` when configured. A verified token's caller is remembered (bounded LRU,
  keyed by the exact token string) until its ``exp``: clients send the same token on every call, and verifying it
  again (base64, JSON, HMAC or a public-key signature) cost more CPU than the rest of the RPC plumbing together.
  The ``exp``/``nbf``/``iat`` window is re-checked on every lookup; failures are never remembered.
- ``insecure-headers`` (``ameide dev`` only): ``x-user-id`` / ``x-tenant-id`` metadata, trusted as sent.

Health and reflection need no credentials (Kubernetes probes and ``buf curl --list-methods`` carry none).
Any failure answers UNAUTHENTICATED with an ErrorInfo reason.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import jwt

from ameide_runtime import identity
from ameide_runtime.errors import Unauthenticated
from ameide_runtime.settings import AuthSettings, SettingsError

logger = logging.getLogger(__name__)

LEEWAY_SECONDS = 30
# Distinct tokens remembered per process (an entry is a few hundred bytes; a token is typically reused for an hour).
VERIFIED_CACHE_SIZE = 4096
MAX_ID_CHARS = 128
PUBLIC_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.v1alpha.", "/grpc.reflection.v1.")
_SYMMETRIC_PREFIX = "HS"
_KNOWN_ALGORITHMS = frozenset(
    {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"}
    | {"EdDSA"}
)

Authenticate = Callable[[Sequence[tuple[str, str | bytes]]], identity.Identity]


def is_public(method: str) -> bool:
    """True for RPCs every caller may make without credentials (health, reflection)."""
    return method.startswith(PUBLIC_PREFIXES)


def _checked_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise Unauthenticated(f"{what} is missing", reason="MISSING_IDENTITY")
    if len(value) > MAX_ID_CHARS or not value.isprintable() or value.strip() != value:
        raise Unauthenticated(f"{what} must be at most {MAX_ID_CHARS} printable characters", reason="INVALID_IDENTITY")
    return value


def _metadata_value(metadata: Sequence[tuple[str, str | bytes]], key: str) -> str:
    for name, value in metadata:
        if name.lower() == key:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return ""


class JwtAuthenticator:
    """Verifies bearer JWTs according to the settings."""

    def __init__(self, settings: AuthSettings, *, cache_size: int = VERIFIED_CACHE_SIZE) -> None:
        algorithms = tuple(settings.jwt_algorithms)
        unknown = [a for a in algorithms if a not in _KNOWN_ALGORITHMS]
        if not algorithms or unknown:
            raise SettingsError(f"AMEIDE_JWT_ALGORITHMS: unsupported algorithm(s) {unknown or '(none given)'}")
        symmetric = any(a.startswith(_SYMMETRIC_PREFIX) for a in algorithms)
        asymmetric = any(not a.startswith(_SYMMETRIC_PREFIX) for a in algorithms)
        if symmetric and not settings.jwt_secret:
            raise SettingsError("AMEIDE_JWT_SECRET: required for the HS* algorithms in AMEIDE_JWT_ALGORITHMS")
        if asymmetric and not settings.jwt_public_key:
            raise SettingsError(
                "AMEIDE_JWT_PUBLIC_KEY: required for the RS*/ES*/PS* algorithms in AMEIDE_JWT_ALGORITHMS"
            )
        self._algorithms = algorithms
        self._secret = settings.jwt_secret
        # Environment variables often carry PEM newlines escaped.
        self._public_key = settings.jwt_public_key.replace("\\n", "\n")
        self._tenant_claim = settings.jwt_tenant_claim
        self._audience = settings.jwt_audience or None
        self._issuer = settings.jwt_issuer or None
        self._verified = _VerifiedTokens(cache_size)

    def __call__(self, metadata: Sequence[tuple[str, str | bytes]]) -> identity.Identity:
        """The caller named by the bearer token in ``metadata``."""
        header = _metadata_value(metadata, "authorization")
        if not header:
            raise Unauthenticated("missing credentials: send 'authorization: Bearer <token>'", reason="NO_CREDENTIALS")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("authorization must be 'Bearer <token>'", reason="INVALID_CREDENTIALS")
        caller = self._verified.get(token)
        if caller is not None:
            return caller
        claims = self.verify(token)
        caller = identity.Identity(
            user_id=_checked_id(claims.get("sub"), "token claim 'sub'"),
            tenant_id=_checked_id(claims.get(self._tenant_claim), f"token claim {self._tenant_claim!r}"),
        )
        self._verified.put(token, claims, caller)
        return caller

    def verify(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``; UNAUTHENTICATED on any problem."""
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError as exc:
            raise Unauthenticated("malformed token", reason="INVALID_TOKEN") from exc
        if algorithm not in self._algorithms:
            raise Unauthenticated(f"token algorithm {algorithm!r} is not accepted", reason="INVALID_TOKEN")
        # The key follows from the algorithm family, so an HS token can never be checked against the public key.
        key = self._secret if str(algorithm).startswith(_SYMMETRIC_PREFIX) else self._public_key
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[str(algorithm)],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "sub"], "verify_aud": self._audience is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired", reason="TOKEN_EXPIRED") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthenticated("token not yet valid", reason="TOKEN_NOT_YET_VALID") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}", reason="INVALID_TOKEN") from exc
        return claims


class _VerifiedTokens:
    """Callers of tokens that verified, by exact token string, each valid only within its claims' time window.

    The window is the one ``jwt.decode`` enforces (``exp`` exclusive, ``nbf``/``iat`` inclusive, with the same
    leeway and whole-second clock), checked again at every lookup, so a remembered token stops working exactly
    when verifying it again would fail. Only successes are stored: a bad token is verified (and rejected) each time.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[int, int, identity.Identity]] = OrderedDict()

    def get(self, token: str) -> identity.Identity | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        valid_from, valid_until, caller = entry
        now = int(time.time())
        if not valid_from <= now < valid_until:
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return caller

    def put(self, token: str, claims: dict[str, Any], caller: identity.Identity) -> None:
        if self._capacity <= 0:
            return
        try:
            # PyJWT's checks: exp <= now - leeway is expired; nbf or iat > now + leeway is not yet valid.
            valid_until = int(claims["exp"]) + LEEWAY_SECONDS
            starts = [int(claims[name]) for name in ("nbf", "iat") if name in claims]
        except (KeyError, TypeError, ValueError, OverflowError):
            return  # not a window we can re-check: verify this token every time
        valid_from = max(starts) - LEEWAY_SECONDS if starts else -(2**63)
        self._entries[token] = (valid_from, valid_until, caller)
        self._entries.move_to_end(token)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)


def headers_authenticator(metadata: Sequence[tuple[str, str | bytes]]) -> identity.Identity:
    """The caller named by ``x-user-id`` / ``x-tenant-id`` (insecure-headers mode)."""
    user_id = _metadata_value(metadata, "x-user-id")
    tenant_id = _metadata_value(metadata, "x-tenant-id")
    if not user_id and not tenant_id:
        raise Unauthenticated("missing credentials: send x-user-id and x-tenant-id metadata", reason="NO_CREDENTIALS")
    return identity.Identity(user_id=_checked_id(user_id, "x-user-id"), tenant_id=_checked_id(tenant_id, "x-tenant-id"))


def authenticator_for(settings: AuthSettings) -> Authenticate:
    """The authenticator of the configured mode (announcing insecure-headers loudly)."""
    if settings.auth == "insecure-headers":
        logger.warning(
            "AUTHENTICATION IS OFF: AMEIDE_AUTH=insecure-headers trusts x-user-id/x-tenant-id as sent. "
            "Use it for local development only; production needs AMEIDE_AUTH=jwt."
        )
        return headers_authenticator
    return JwtAuthenticator(settings)


def mint_token(
    secret: str,
    *,
    user_id: str,
    tenant_id: str,
    ttl_seconds: int = 3600,
    tenant_claim: str = "tenant_id",
    audience: str = "",
    issuer: str = "",
    now: float | None = None,
) -> str:
    """An HS256 JWT for ``user_id`` in ``tenant_id`` (what ``ameide token`` prints)."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {"sub": user_id, tenant_claim: tenant_id, "iat": issued, "exp": issued + ttl_seconds}
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")
