"""What every handler shares: the executor, the clock, id and token factories, and the chat policies."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ameide_command.application.context import Clock, IdFactory, RequestContext
from ameide_command.application.executor import Executor
from ameide_command.application.recording import Changes
from ameide_command.domain.model import AgentPolicy
from ameide_runtime import consistency
from ameide_runtime.tokens import TokenCodec


@dataclass(frozen=True, slots=True)
class Deps:
    """Dependencies of the handlers (built by ``bootstrap``)."""

    executor: Executor
    tokens: TokenCodec
    clock: Clock
    new_id: IdFactory
    agents: AgentPolicy
    max_title_chars: int

    def new_id_str(self) -> str:
        """A fresh id in canonical text form."""
        return str(self.new_id())

    def changes(self, context: RequestContext, at: dt.datetime) -> Changes:
        """An empty change set for one decision."""
        return Changes(context, at, self.new_id)

    def token(self, changes: Changes) -> str:
        """The consistency token naming every stream the decision changed or looked at."""
        return consistency.encode(self.tokens, changes.versions())
