"""A serving process freezes its start-up objects and collects young objects less often."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ameide_runtime.gc_tuning import GEN0_THRESHOLD, tune_for_serving

pytestmark = pytest.mark.unit


@pytest.fixture(name="restored_gc")
def fixture_restored_gc() -> Iterator[tuple[int, int, int]]:
    """The collector's settings before the test, restored after it (the test process keeps its defaults)."""
    before = gc.get_threshold()
    yield before
    gc.unfreeze()
    gc.set_threshold(*before)


def test_start_up_objects_are_frozen_and_gen0_is_raised(restored_gc: tuple[int, int, int]) -> None:
    """After tuning: objects frozen, generation 0 threshold raised, older generations unchanged, still enabled."""
    tune_for_serving()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (GEN0_THRESHOLD, restored_gc[1], restored_gc[2])
    assert gc.isenabled()
