"""Presence with a heartbeat: ``presence_heartbeat`` keeps one client (a tab, a process) present on a resource.

The server forgets a client that is not announced again within the viewing TTL, and stops its typing after the
typing TTL, so the helper announces itself every ``renew_after_ms`` (the server says how often) from a background
task, says ``typing()`` as often as the user types (throttled) and leaves when the block ends. A failed heartbeat
is retried on the next beat: presence is best effort, and never breaks the application.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from types import TracebackType
from typing import TYPE_CHECKING, Self

import grpc.aio

from ameide_core_proto.live.v1 import live_service_pb2 as live
from ameide_core_proto.live.v1 import live_types_pb2

if TYPE_CHECKING:
    from ameide_core_proto.live.v1.live_service_pb2_grpc import PresenceServiceAsyncStub

_log = logging.getLogger(__name__)

VIEWING = live_types_pb2.PRESENCE_STATE_VIEWING
TYPING = live_types_pb2.PRESENCE_STATE_TYPING
# A typing() keeps the user typing this long; renewed at most this often while they keep typing.
TYPING_SECONDS = 4.0
TYPING_RENEW_SECONDS = 2.0
_FALLBACK_RENEW_SECONDS = 10.0


class PresenceHeartbeat:
    """One client's presence on a chat or an artifact (use ``AmeideClient.presence_heartbeat``).

    Example::

        async with client.presence_heartbeat(threads_id=chat_id, display_name="Ada") as presence:
            await presence.typing()  # call on each keystroke; it throttles itself
            await presence.viewing()  # the message was sent: not typing any more
    """

    def __init__(
        self,
        stub: PresenceServiceAsyncStub,
        resource: dict[str, str],
        *,
        display_name: str = "",
        client_id: str | None = None,
        consistency_token: str = "",
    ) -> None:
        self._stub = stub
        self._consistency_token = consistency_token
        self._resource = resource  # {"threads_id": id} or {"artifact_id": id}
        self.display_name = display_name
        self.client_id = client_id or uuid.uuid4().hex[:16]
        self._typing_until = 0.0
        self._last_typing = 0.0
        self._renew = _FALLBACK_RENEW_SECONDS
        self._beat: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self.announce(VIEWING)
        self._beat = asyncio.create_task(self._heartbeat(), name=f"presence-{self.client_id}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
        with contextlib.suppress(grpc.aio.AioRpcError):
            await self._stub.LeavePresence(live.LeavePresenceRequest(client_id=self.client_id, **self._resource))

    async def typing(self) -> None:
        """The user is typing (call on every keystroke: only every ``TYPING_RENEW_SECONDS`` reaches the server)."""
        now = time.monotonic()
        self._typing_until = now + TYPING_SECONDS
        if now - self._last_typing >= TYPING_RENEW_SECONDS:
            self._last_typing = now
            await self.announce(TYPING)

    async def viewing(self) -> None:
        """The user stopped typing (e.g. sent the message)."""
        if self._typing_until:
            self._typing_until = self._last_typing = 0.0
            await self.announce(VIEWING)

    async def announce(self, state: live_types_pb2.PresenceState.ValueType) -> live.AnnouncePresenceResponse:
        """Announce ``state`` now (the heartbeat does this by itself)."""
        request = live.AnnouncePresenceRequest(
            client_id=self.client_id,
            state=state,
            display_name=self.display_name,
            consistency_token=self._consistency_token,
            **self._resource,
        )
        response = await self._stub.AnnouncePresence(request)
        self._renew = max(0.1, response.renew_after_ms / 1000)
        return response

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._renew)
            state = TYPING if time.monotonic() < self._typing_until else VIEWING
            try:
                await self.announce(state)
            except grpc.aio.AioRpcError as error:
                _log.debug("presence heartbeat failed (%s); trying again next beat", error.code().name)
