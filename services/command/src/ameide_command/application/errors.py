"""Why the write path refuses a command that the rules would accept (the edge maps these, as the domain's)."""

from __future__ import annotations


class WriteRefusedError(Exception):
    """The command cannot be written as asked; ``reason`` names why (stable, UPPER_SNAKE)."""

    reason: str = "REFUSED"


class KeyReusedError(WriteRefusedError):
    """An idempotency key came back with a different request than the one it was first used with."""

    reason = "IDEMPOTENCY_KEY_REUSED"

    def __init__(self) -> None:
        super().__init__("idempotency key was already used with a different request")


class KeptChangingError(WriteRefusedError):
    """The chats or artifacts kept changing under the command through every retry: the client may retry."""

    reason = "CONCURRENT_MODIFICATION"

    def __init__(self) -> None:
        super().__init__("the chat or artifact kept changing concurrently; retry (with the same idempotency key)")
