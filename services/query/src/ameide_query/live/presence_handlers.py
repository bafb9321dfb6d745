"""PresenceService: announce, leave and list who of the caller's tenant is on a chat or an artifact."""

from __future__ import annotations

from datetime import UTC, datetime

from ameide_core_proto.live.v1 import live_service_pb2 as svc
from ameide_query.live import validation
from ameide_query.live.access import Resource, ResourceAccess
from ameide_query.live.presence import PresenceStore
from ameide_query.live.snapshots import Snapshots
from ameide_query.views.consistency import ConsistencyWaiter
from ameide_runtime import identity


class PresenceHandlers:
    """The three RPCs over the presence store, after the read check."""

    def __init__(
        self, store: PresenceStore, snapshots: Snapshots, access: ResourceAccess, consistency: ConsistencyWaiter
    ) -> None:
        self._store = store
        self._snapshots = snapshots
        self._access = access
        self._consistency = consistency

    def renew_after_ms(self) -> int:
        """How often a client should announce itself: a third of the viewing TTL (two renewals may be lost)."""
        return max(1, self._store.viewing_ttl_ms // 3)

    async def _authorised(
        self,
        request: svc.AnnouncePresenceRequest | svc.ListPresenceRequest,
        checks: validation.Violations,
    ) -> Resource:
        caller = identity.reconcile(tenant_id=request.tenant_id)
        target = validation.resource(request, checks)
        checks.check()
        assert target is not None  # noqa: S101 - check() raised otherwise
        # Read your writes, as the reads do: a chat the caller has just created is found.
        await self._consistency.wait(request.consistency_token)
        await self._access.require_readable(caller, target)
        return target

    async def announce(self, request: svc.AnnouncePresenceRequest) -> svc.AnnouncePresenceResponse:
        """AnnouncePresence."""
        checks = validation.Violations()
        validation.client_id(request.client_id, checks)
        validation.presence_state(request.state, checks)
        checks.text("display_name", request.display_name, validation.MAX_DISPLAY_NAME_CHARS)
        target = await self._authorised(request, checks)
        announced = await self._store.announce(
            target.feed_key, identity.current(), request.client_id, request.state, request.display_name
        )
        response = svc.AnnouncePresenceResponse(renew_after_ms=self.renew_after_ms())
        response.expires_at.FromDatetime(datetime.fromtimestamp(announced.expires_at_ms / 1000, UTC))
        return response

    async def leave(self, request: svc.LeavePresenceRequest) -> svc.LeavePresenceResponse:
        """LeavePresence (a client that is not present has nothing to leave: no error)."""
        checks = validation.Violations()
        validation.client_id(request.client_id, checks)
        caller = identity.reconcile(tenant_id=request.tenant_id)
        target = validation.resource(request, checks)
        checks.check()
        assert target is not None  # noqa: S101 - check() raised otherwise
        # No read check: leaving reveals nothing, and a caller who just lost access must still be able to go.
        await self._store.leave(target.feed_key, caller, request.client_id)
        return svc.LeavePresenceResponse()

    async def list(self, request: svc.ListPresenceRequest) -> svc.ListPresenceResponse:
        """ListPresence."""
        target = await self._authorised(request, validation.Violations())
        participants = await self._snapshots.participants(target.feed_key, identity.current().tenant_id)
        return svc.ListPresenceResponse(participants=participants)
