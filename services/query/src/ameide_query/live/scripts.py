"""The live-signal Lua scripts (``lua/*.lua``), each with the shared helpers of ``lua/prelude.lua`` in front.

Every change to presence or drafts is one script: it updates the state and appends the signal that announces the
change in the same atomic step, so the order of signals in a resource's stream is the order of the changes, and a
snapshot read with the stream's last id tells exactly which signals come after it. redis-py runs each by its SHA
(EVALSHA), loading it again when Redis forgot it (a restart).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

_LUA = resources.files("ameide_query.live") / "lua"


def _source(name: str) -> str:
    return (
        (_LUA / "prelude.lua").read_text(encoding="utf-8") + "\n" + (_LUA / f"{name}.lua").read_text(encoding="utf-8")
    )


@dataclass(frozen=True, slots=True)
class Scripts:
    """Every script, registered on one client."""

    announce: AsyncScript
    leave: AsyncScript
    expire_presence: AsyncScript
    snapshot: AsyncScript
    draft_start: AsyncScript
    draft_append: AsyncScript
    draft_begin_complete: AsyncScript
    draft_finish_complete: AsyncScript
    draft_reopen: AsyncScript
    draft_abandon: AsyncScript
    expire_drafts: AsyncScript
    draft_read: AsyncScript

    @classmethod
    def register(cls, redis: Redis) -> Scripts:
        """The scripts, run through ``redis``."""
        names = list(cls.__dataclass_fields__)
        return cls(**{name: redis.register_script(_source(name)) for name in names})


async def run(script: AsyncScript, keys: list[str], args: list[Any]) -> Any:  # noqa: ANN401 - Lua replies vary
    """Run ``script`` (loaded on first use and after Redis forgot it)."""
    return await script(keys=keys, args=args)
