"""Consistency tokens: what a write returned, so a later read can wait until the projection has applied it.

A token names stream versions: ``{stream_id: version}``. The query side waits (bounded) until the read model's
projected version of every named stream is at least that version, else answers UNAVAILABLE.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from ameide_runtime.tokens import InvalidToken, TokenCodec

KIND = "consistency"


def encode(codec: TokenCodec, versions: Mapping[uuid.UUID, int]) -> str:
    """Token for the given stream versions.

    Every write answers one, so its JSON is written here directly: the same bytes as ``TokenCodec.encode`` of
    ``{"s": {id: version}}`` (compact, keys sorted; a UUID's text and an int need no escaping).
    """
    streams = sorted((str(stream), int(version)) for stream, version in versions.items())
    body = '{"s":{' + ",".join(f'"{stream}":{version}' for stream, version in streams) + "}}"
    return codec.encode_json(KIND, body.encode())


def decode(codec: TokenCodec, token: str) -> dict[uuid.UUID, int]:
    """Stream versions named by a token; ``InvalidToken`` when forged or malformed."""
    payload = codec.decode(KIND, token)
    streams = payload.get("s")
    if not isinstance(streams, dict):
        raise InvalidToken("consistency token has no streams")
    try:
        return {uuid.UUID(str(key)): int(value) for key, value in streams.items()}
    except (ValueError, TypeError) as exc:
        raise InvalidToken("consistency token is malformed") from exc
