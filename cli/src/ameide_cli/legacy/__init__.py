"""``ameide import-legacy``: import the legacy chat database (the Vercel ai-chatbot schema) with no data loss.

Reads the legacy PostgreSQL database read-only, maps chats, messages, documents and suggestions to the stored
events of the contract, and appends them through the event store with deterministic event ids, so re-runs and
resumed runs import nothing twice. See docs/legacy-import.md.
"""

from __future__ import annotations

from ameide_cli.legacy.cli import main

__all__ = ["main"]
