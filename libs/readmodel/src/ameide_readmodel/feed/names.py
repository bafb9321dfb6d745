"""Feed names: one feed per chat and per artifact (resume and checkpoint tokens name the feed they belong to)."""

from __future__ import annotations


def chat_feed(threads_id: str) -> str:
    """Feed key of a chat."""
    return f"thread:{threads_id}"


def artifact_feed(artifact_id: str) -> str:
    """Feed key of an artifact."""
    return f"artifact:{artifact_id}"
