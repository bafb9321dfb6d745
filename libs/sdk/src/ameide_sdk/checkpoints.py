"""Where subscriptions keep their last checkpoint, and how the SDK orders checkpoints.

A checkpoint token is opaque to applications. The SDK peeks at its unsigned payload for the feed sequence
(``q``) only to drop updates it has already delivered; a token it cannot read is compared by value instead.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import tempfile
from pathlib import Path
from typing import Protocol


class CheckpointStore(Protocol):
    """Persists the last checkpoint token per feed (``thread:{id}`` / ``artifact:{id}``)."""

    async def load(self, feed: str) -> str | None:
        """The saved token of ``feed``, or ``None``."""
        ...

    async def save(self, feed: str, token: str) -> None:
        """Remember ``token`` as the last checkpoint of ``feed``."""
        ...


class InMemoryCheckpointStore:
    """Checkpoints kept for the life of the process (the default)."""

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}

    async def load(self, feed: str) -> str | None:
        """The saved token of ``feed``, or ``None``."""
        return self._tokens.get(feed)

    async def save(self, feed: str, token: str) -> None:
        """Remember ``token`` as the last checkpoint of ``feed``."""
        self._tokens[feed] = token


class FileCheckpointStore:
    """Checkpoints in a JSON file (``{feed: token}``), replaced atomically so a crash never leaves half a file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._lock = asyncio.Lock()

    async def load(self, feed: str) -> str | None:
        """The saved token of ``feed``, or ``None``."""
        return (await asyncio.to_thread(self._read)).get(feed)

    async def save(self, feed: str, token: str) -> None:
        """Remember ``token`` as the last checkpoint of ``feed``."""
        async with self._lock:
            await asyncio.to_thread(self._write, feed, token)

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict):
            raise TypeError(f"{self._path}: expected a JSON object of feed -> token")
        return {str(key): str(value) for key, value in data.items()}

    def _write(self, feed: str, token: str) -> None:
        data = self._read()
        data[feed] = token
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=f".{self._path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, sort_keys=True)
            Path(tmp).replace(self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def checkpoint_position(token: str) -> int | None:
    """The feed sequence inside a checkpoint token, or ``None`` when the token is not readable."""
    body, sep, _ = token.partition(".")
    if not sep or not body:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    seq = payload.get("q")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None
