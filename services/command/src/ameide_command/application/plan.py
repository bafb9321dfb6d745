"""What one decision produced: the appends, the response, and each changed stream's state after it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from google.protobuf.message import Message

from ameide_command.domain.model import ArtifactState, ChatState
from ameide_eventstore import StreamAppend

R = TypeVar("R", bound=Message)


@dataclass(frozen=True, slots=True)
class Plan(Generic[R]):
    """The appends (empty = nothing to change), the response, and the states after (by stream id)."""

    appends: list[StreamAppend]
    response: R
    states: Mapping[str, ChatState | ArtifactState] = field(default_factory=dict)
