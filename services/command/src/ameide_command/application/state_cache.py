"""Decision states this process appended last, so the next command on the stream can skip reading its head.

A cached state is only ever used to decide a change *to that same stream*: the append's expected version then
proves it was still current (another process's write makes the append fail, and the command is decided again on
fresh state). A decision that would only read a cached stream, or that fails on cached state, is redone on fresh
state. A stream that conflicts is "contended" for a while and bypasses the cache: when several processes write
to one chat in turn, reading its head is cheaper than a failed append.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence

from ameide_command.application.loading import Aggregates
from ameide_command.domain.model import ArtifactState, ChatState

State = ChatState | ArtifactState
DEFAULT_CAPACITY = 4096
CONTENDED_SECONDS = 10.0


class StateCache:
    """A bounded LRU of stream states by stream id."""

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        *,
        contended_seconds: float = CONTENDED_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._capacity = capacity
        self._contended_seconds = contended_seconds
        self._clock = clock
        self._states: OrderedDict[str, State] = OrderedDict()
        self._contended: dict[str, float] = {}

    def get(self, chat_ids: Sequence[str], artifact_ids: Sequence[str]) -> Aggregates | None:
        """Every named stream from the cache, or ``None`` when any is missing or contended."""
        if self._capacity <= 0:
            return None
        chats: dict[str, ChatState] = {}
        artifacts: dict[str, ArtifactState] = {}
        for stream_id in filter(None, (*chat_ids, *artifact_ids)):
            state = self._states.get(stream_id)
            if state is None or self._is_contended(stream_id):
                return None
            self._states.move_to_end(stream_id)
            if isinstance(state, ChatState):
                chats[stream_id] = state
            else:
                artifacts[stream_id] = state
        if set(chats) != set(filter(None, chat_ids)) or set(artifacts) != set(filter(None, artifact_ids)):
            return None  # an id cached as the other stream type: let the store answer
        return Aggregates(chats, artifacts)

    def put(self, states: Mapping[str, State]) -> None:
        """Remember the states a committed append produced."""
        if self._capacity <= 0:
            return
        for stream_id, state in states.items():
            self._states[stream_id] = state
            self._states.move_to_end(stream_id)
        while len(self._states) > self._capacity:
            self._states.popitem(last=False)

    def evict(self, stream_ids: Iterable[str]) -> None:
        """Forget streams whose current state is unknown (a failed or replayed append)."""
        for stream_id in stream_ids:
            self._states.pop(stream_id, None)

    def contend(self, stream_ids: Iterable[str]) -> None:
        """Forget streams another writer changed, and bypass the cache for them for a while."""
        until = self._clock() + self._contended_seconds
        for stream_id in stream_ids:
            self._states.pop(stream_id, None)
            self._contended[stream_id] = until
        if len(self._contended) > self._capacity:
            now = self._clock()
            self._contended = {key: end for key, end in self._contended.items() if end > now}

    def _is_contended(self, stream_id: str) -> bool:
        until = self._contended.get(stream_id)
        if until is None:
            return False
        if until > self._clock():
            return True
        del self._contended[stream_id]
        return False
