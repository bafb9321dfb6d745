"""Identity: the caller comes from the auth layer; request fields are only checked against it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ameide_runtime import identity
from ameide_runtime.errors import PermissionDenied, Unauthenticated

pytestmark = pytest.mark.unit

CALLER = identity.Identity(user_id="u1", tenant_id="t1")


@pytest.fixture(name="caller")
def fixture_caller() -> Iterator[identity.Identity]:
    """Bind CALLER for the test, then unbind it."""
    token = identity.set_current(CALLER)
    yield CALLER
    identity.reset_current(token)


@pytest.mark.usefixtures("caller")
class TestReconcile:
    def test_empty_fields_take_the_caller(self) -> None:
        """Empty user_id/tenant_id are filled from the caller."""
        assert identity.reconcile() == CALLER

    def test_matching_fields_pass(self) -> None:
        """Fields equal to the caller's pass."""
        assert identity.reconcile(user_id="u1", tenant_id="t1") == CALLER

    def test_other_tenant_is_permission_denied(self) -> None:
        """Another tenant_id is PERMISSION_DENIED with reason TENANT_MISMATCH."""
        with pytest.raises(PermissionDenied) as caught:
            identity.reconcile(tenant_id="t2")
        assert caught.value.reason == "TENANT_MISMATCH"

    def test_other_user_is_permission_denied(self) -> None:
        """Another user_id is PERMISSION_DENIED with reason USER_MISMATCH."""
        with pytest.raises(PermissionDenied) as caught:
            identity.reconcile(user_id="u2")
        assert caught.value.reason == "USER_MISMATCH"


def test_no_caller_is_unauthenticated() -> None:
    """Without an authenticated caller, reconcile is UNAUTHENTICATED."""
    with pytest.raises(Unauthenticated):
        identity.reconcile()
