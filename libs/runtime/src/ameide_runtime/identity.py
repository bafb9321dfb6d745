"""The authenticated caller, set by the auth interceptor and read by servicers.

Identity always comes from the auth layer. Request fields ``user_id``/``tenant_id`` are only checked against it
(``reconcile``): empty -> filled from the caller, different -> PERMISSION_DENIED.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from ameide_runtime.errors import PermissionDenied, Unauthenticated


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: a user within a tenant."""

    user_id: str
    tenant_id: str


_current: contextvars.ContextVar[Identity | None] = contextvars.ContextVar("ameide_identity", default=None)


def set_current(identity: Identity | None) -> contextvars.Token[Identity | None]:
    """Bind the caller for the current request (the auth interceptor does this)."""
    return _current.set(identity)


def reset_current(token: contextvars.Token[Identity | None]) -> None:
    """Undo ``set_current``."""
    _current.reset(token)


def current() -> Identity:
    """The caller of the request being served; UNAUTHENTICATED when none was established."""
    identity = _current.get()
    if identity is None:
        raise Unauthenticated("no credentials")
    return identity


def reconcile(*, user_id: str = "", tenant_id: str = "") -> Identity:
    """Return the caller, checking the request's own ``user_id``/``tenant_id`` fields against it."""
    caller = current()
    if tenant_id and tenant_id != caller.tenant_id:
        raise PermissionDenied("tenant_id does not match the caller's tenant", reason="TENANT_MISMATCH")
    if user_id and user_id != caller.user_id:
        raise PermissionDenied("user_id does not match the caller", reason="USER_MISMATCH")
    return caller
