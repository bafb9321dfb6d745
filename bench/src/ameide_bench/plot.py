"""The PNG chart of a run, drawn from its JSON document (so an old run can be drawn again).

One panel per scenario shows each figure as a ratio of its same-run baseline (the dashed line at 1.0 is the
baseline: for the RPCs, the floor, a bare server doing only the same statements); one panel shows the p95
latencies bounded relative to their baseline's p95 (ours against the floor's), and a last one the p95 latencies
that have an absolute target. Bars are green when their target is met,
red when it is missed, blue when no target applies; a black tick marks the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

MISSING_HINT = "matplotlib is not installed: python -m pip install -e '.[bench]' (the chart was skipped)"
COLORS = {True: "#2e9d4f", False: "#d2423b", None: "#4a7fb5"}

# (label, value, target met, target threshold) of one bar.
Bar = tuple[str, float, "bool | None", "float | None"]


class PlotUnavailableError(RuntimeError):
    """matplotlib is not installed."""


def _pyplot() -> Any:  # noqa: ANN401 - matplotlib ships no types this project checks against
    try:
        import matplotlib as mpl  # noqa: PLC0415 - optional: only the chart needs it

        mpl.use("Agg")  # no display: render to a file
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ModuleNotFoundError as exc:
        raise PlotUnavailableError(MISSING_HINT) from exc
    return plt


def _status(checks: Sequence[dict[str, Any]], quantity: str) -> tuple[bool | None, float | None]:
    """Met state and threshold of the first check bounding ``quantity`` ("ratio" or "p95")."""
    for c in checks:
        if c["quantity"] == quantity:
            return c["met"], float(c["threshold"])
    return None, None


def ratio_bars(document: dict[str, Any]) -> list[tuple[str, list[Bar]]]:
    """Per scenario: (label, ratio, met, ratio target) of every row with a ratio."""
    panels = []
    for scenario in document["scenarios"]:
        bars: list[Bar] = []
        for row in scenario["rows"]:
            if row["ratio"] is None:
                continue
            met, threshold = _status(row["checks"], "ratio")
            if threshold is None:  # a target on the figure itself still colors its bar (its threshold is no ratio)
                met, _ = _status(row["checks"], "figure")
            bars.append((f"{row['name']}\nvs {row['baseline_name']}", float(row["ratio"]), met, threshold))
        if bars:
            panels.append((scenario["name"], bars))
    return panels


def p95_ratio_bars(document: dict[str, Any]) -> list[Bar]:
    """(label, p95 / baseline p95, met, target) of every row whose p95 is bounded relative to its baseline's."""
    bars: list[Bar] = []
    for scenario in document["scenarios"]:
        for row in scenario["rows"]:
            for c in row["checks"]:
                if c["quantity"] == "p95_ratio" and c["actual"] is not None:
                    label = f"{row['name']}\nvs {row['baseline_name']}"
                    bars.append((label, float(c["actual"]), c["met"], float(c["threshold"])))
    return bars


def latency_bars(document: dict[str, Any]) -> list[Bar]:
    """(label, p95 ms, met, target ms) of every row with a latency target."""
    bars: list[Bar] = []
    for scenario in document["scenarios"]:
        for row in scenario["rows"]:
            met, threshold = _status(row["checks"], "p95")
            if threshold is not None and row["p95_ms"] is not None:
                bars.append((row["name"], float(row["p95_ms"]), met, threshold))
    return bars


def _panel(ax: Any, title: str, bars: Sequence[Bar], unit: str, *, ratio: bool) -> None:  # noqa: ANN401
    """Horizontal bars; ratios grow from the baseline (1.0) on a log scale, so 0.5x and 2x look alike."""
    positions = list(range(len(bars)))
    values = [b[1] for b in bars]
    colors = [COLORS[b[2]] for b in bars]
    if ratio:
        ax.set_xscale("log")
        ax.barh(positions, [v - 1.0 for v in values], left=1.0, color=colors, height=0.6)
        ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
        low, high = min([*values, 1.0]), max([*values, 1.0])
        ax.set_xlim(low / 1.6, high * 2.2)
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}x")
        ax.xaxis.set_minor_formatter(lambda _v, _pos: "")
    else:
        ax.barh(positions, values, color=colors, height=0.6)
        ax.margins(x=0.15)
    for y, (_label, value, _met, threshold) in enumerate(bars):
        left = ratio and value < 1.0  # a bar below the baseline grows to the left: label its left end
        ax.annotate(
            f"{value:.2f}{unit}", (value, y), xytext=(-3 if left else 3, 0), textcoords="offset points",
            ha="right" if left else "left", va="center", fontsize=7,
        )  # fmt: skip
        if threshold is not None:
            ax.plot([threshold, threshold], [y - 0.4, y + 0.4], color="black", linewidth=2)
    ax.set_yticks(positions, [b[0] for b in bars], fontsize=7)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=9, loc="left")


def write_chart(document: dict[str, Any], path: Path) -> None:
    """Draw the run's chart into ``path`` (PNG). Raises PlotUnavailableError without matplotlib."""
    plt = _pyplot()
    panels = ratio_bars(document)
    relative = p95_ratio_bars(document)
    if relative:
        panels.append(("p95 against the baseline's p95", relative))
    latency = latency_bars(document)
    heights = [max(1.2, 0.45 * len(bars)) for _name, bars in panels]
    if latency:
        heights.append(max(1.2, 0.45 * len(latency)))
    if not heights:
        heights = [1.0]
    fig, axes = plt.subplots(
        len(heights), 1, figsize=(11, sum(heights) + 1.2), height_ratios=heights, squeeze=False, layout="constrained"
    )
    for ax, (name, bars) in zip(axes[:, 0], panels, strict=False):
        _panel(ax, f"{name}: figure / same-run baseline (log scale; dashed = baseline)", bars, "x", ratio=True)
    if latency:
        _panel(axes[-1, 0], "p95 latency (ms) against its target", latency, " ms", ratio=False)
    if not panels and not latency:
        axes[0, 0].text(0.5, 0.5, "no figures", ha="center", va="center")
    failed = [s["name"] for s in document["scenarios"] if s.get("error")]
    if failed:
        fig.text(0.01, 0.002, f"failed (not drawn): {', '.join(failed)}", fontsize=8, color=COLORS[False])
    fig.suptitle(f"ameide bench ({document['mode']}) {document['started_at'][:19]}Z, {document['host']['cpus']} CPUs")
    fig.savefig(path, dpi=110)
    plt.close(fig)
