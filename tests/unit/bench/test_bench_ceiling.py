import math

import pytest

from ameide_bench import ceiling
from ameide_bench.ceiling import Metered

pytestmark = pytest.mark.unit


def test_the_ceiling_adds_the_parts_cpu_per_operation(monkeypatch: pytest.MonkeyPatch) -> None:
    """2 cores; an echo at 400 us and an append at 600 us of machine CPU each: at most 2,000 requests/s."""
    monkeypatch.setattr(ceiling, "cores", lambda: 2)
    echo, append = Metered(operations=5_000, busy=2.0), Metered(operations=1_000, busy=0.6)
    assert echo.cpu_us_per_op == pytest.approx(400.0)
    assert ceiling.ceiling_rps(echo, append) == pytest.approx(2_000.0)


def test_without_measured_cpu_there_is_no_ceiling() -> None:
    """No busy time measured (no /proc here): the ceiling is unknown (NaN), never infinite."""
    assert math.isnan(ceiling.ceiling_rps(Metered(operations=10, busy=0.0)))


def test_busy_time_only_grows() -> None:
    """The machine's busy CPU seconds are a counter."""
    first = ceiling.busy_seconds()
    sum(range(200_000))
    assert ceiling.busy_seconds() >= first >= 0.0
