"""JWT verification results are reused per exact token, only within the token's time window, never for failures."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from ameide_runtime import auth, identity
from ameide_runtime.auth import LEEWAY_SECONDS, JwtAuthenticator, mint_token
from ameide_runtime.errors import Unauthenticated
from ameide_runtime.settings import AuthSettings

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-with-32-characters!"
NOW = 1_900_000_000


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token ``jwt.decode`` really verifies, in order."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return seen


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The wall clock the cache reads (``time.time``), settable; PyJWT reads the real clock through ``datetime``."""
    now = [float(time.time())]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


def _authenticator(cache_size: int = 16) -> JwtAuthenticator:
    return JwtAuthenticator(AuthSettings(jwt_secret=SECRET), cache_size=cache_size)


def test_a_token_is_verified_once_and_its_caller_reused(decodes: list[str]) -> None:
    """The second call with the same token skips signature verification and names the same caller."""
    authenticate = _authenticator()
    token = mint_token(SECRET, user_id="ada", tenant_id="acme")
    first = authenticate(_bearer(token))
    second = authenticate(_bearer(f"  {token} "))
    assert first == second
    assert (first.user_id, first.tenant_id) == ("ada", "acme")
    assert decodes == [token]


def test_distinct_tokens_are_verified_separately(decodes: list[str]) -> None:
    """The key is the exact token: another token of the same user is verified on its own."""
    authenticate = _authenticator()
    one = mint_token(SECRET, user_id="ada", tenant_id="acme", now=time.time())
    other = mint_token(SECRET, user_id="bob", tenant_id="acme", now=time.time() - 5)
    assert authenticate(_bearer(one)).user_id == "ada"
    assert authenticate(_bearer(other)).user_id == "bob"
    assert decodes == [one, other]


def test_failures_are_never_remembered(decodes: list[str]) -> None:
    """A token that failed verification is verified (and rejected) again on every call."""
    authenticate = _authenticator()
    forged = mint_token("another-secret-with-32-characters!!", user_id="ada", tenant_id="acme")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            authenticate(_bearer(forged))
    assert decodes == [forged, forged]


def test_a_bad_identity_claim_is_not_remembered(decodes: list[str]) -> None:
    """A validly signed token whose tenant claim is missing is rejected each time, never cached."""
    authenticate = _authenticator()
    token = jwt.encode({"sub": "ada", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            authenticate(_bearer(token))
    assert len(decodes) == 2


def test_a_remembered_token_expires_with_its_exp(decodes: list[str], clock: list[float]) -> None:
    """At exp + leeway the cache no longer answers; verification then rejects the token as expired."""
    authenticate = _authenticator()
    issued = int(time.time()) - 3600  # so PyJWT, on the real clock, finds it long expired
    token = mint_token(SECRET, user_id="ada", tenant_id="acme", ttl_seconds=60, now=issued)
    # As if it had been verified while still valid: the cache alone decides until exp + leeway.
    authenticate._verified.put(token, {"exp": issued + 60, "iat": issued}, identity.Identity("ada", "acme"))
    clock[0] = issued + 60 + LEEWAY_SECONDS - 1
    assert authenticate(_bearer(token)).user_id == "ada"
    assert decodes == []
    clock[0] = issued + 60 + LEEWAY_SECONDS
    with pytest.raises(Unauthenticated) as raised:
        authenticate(_bearer(token))
    assert raised.value.reason == "TOKEN_EXPIRED"
    assert decodes == [token]


def test_a_remembered_token_is_not_used_before_nbf(clock: list[float]) -> None:
    """The nbf/iat side of the window is re-checked too (a clock stepped back does not extend trust)."""
    verified = auth._VerifiedTokens(8)
    caller = identity.Identity("ada", "acme")
    verified.put("t", {"exp": NOW + 600, "iat": NOW - 10, "nbf": NOW + 100}, caller)
    clock[0] = NOW + 100 - LEEWAY_SECONDS - 1
    assert verified.get("t") is None
    verified.put("t", {"exp": NOW + 600, "iat": NOW - 10, "nbf": NOW + 100}, caller)
    clock[0] = NOW + 100 - LEEWAY_SECONDS
    assert verified.get("t") == caller


def test_the_cache_is_bounded_least_recently_used_first(clock: list[float]) -> None:
    """Beyond its capacity the least recently used token is forgotten."""
    clock[0] = NOW
    verified = auth._VerifiedTokens(2)
    claims = {"exp": NOW + 600}
    for name in ("a", "b"):
        verified.put(name, claims, identity.Identity(name, "acme"))
    assert verified.get("a") is not None  # "b" is now the least recently used
    verified.put("c", claims, identity.Identity("c", "acme"))
    assert verified.get("b") is None
    assert verified.get("a") is not None
    assert verified.get("c") is not None


def test_claims_without_a_checkable_window_are_not_remembered(clock: list[float]) -> None:
    """A non-numeric exp cannot be re-checked, so such a token is never cached."""
    clock[0] = NOW
    verified = auth._VerifiedTokens(8)
    verified.put("t", {"exp": "soon"}, identity.Identity("ada", "acme"))
    assert verified.get("t") is None


def test_cache_size_zero_disables_caching(decodes: list[str]) -> None:
    """``cache_size=0`` verifies every call."""
    authenticate = _authenticator(cache_size=0)
    token = mint_token(SECRET, user_id="ada", tenant_id="acme")
    authenticate(_bearer(token))
    authenticate(_bearer(token))
    assert decodes == [token, token]
