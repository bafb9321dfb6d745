"""Opaque, signed tokens (page tokens, resume tokens, consistency tokens).

A token is ``base64url(json_payload) + "." + base64url(hmac_sha256(kind + payload))``. The ``kind`` is part of
the MAC, so a page token can never be replayed as a resume token. Decoding a tampered, truncated or foreign
token raises ``InvalidToken``; callers map that to INVALID_ARGUMENT naming their field.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any

# One encoder for every token (``json.dumps`` with options builds a new one per call).
_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)


class InvalidToken(ValueError):  # noqa: N818 - reads naturally at raise sites: raise InvalidToken(...)
    """The token is malformed, tampered with, or of another kind."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise InvalidToken("not a token") from exc


class TokenCodec:
    """Signs and verifies JSON payloads with one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:  # noqa: PLR2004 - a shorter HMAC key is guessable
            raise ValueError("token secret must be at least 16 bytes")
        # The key's HMAC state, prepared once: each token copies it (cheaper than keying a new HMAC every time).
        self._keyed = hmac.new(secret, digestmod="sha256")

    def _mac(self, kind: str, body: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(kind.encode() + b"\0" + body)
        return mac.digest()

    def encode(self, kind: str, payload: dict[str, Any]) -> str:
        """Return an opaque token for ``payload``."""
        return self.encode_json(kind, _ENCODER.encode(payload).encode())

    def encode_json(self, kind: str, body: bytes) -> str:
        """Return an opaque token for a payload already encoded as ``encode`` would (compact JSON, sorted keys)."""
        return f"{_b64encode(body)}.{_b64encode(self._mac(kind, body))}"

    def decode(self, kind: str, token: str) -> dict[str, Any]:
        """Verify and return the payload of a token of this ``kind``."""
        body_text, sep, mac_text = token.partition(".")
        if not sep or not body_text or not mac_text:
            raise InvalidToken("not a token")
        body = _b64decode(body_text)
        if not hmac.compare_digest(_b64decode(mac_text), self._mac(kind, body)):
            raise InvalidToken("token signature does not match")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise InvalidToken("token payload is not JSON") from exc
        if not isinstance(payload, dict):
            raise InvalidToken("token payload is not an object")
        return payload
