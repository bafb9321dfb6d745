"""Results of a soak run: samples over time as JSON, a per-minute Markdown table, and a PNG chart.

The soak itself (real processes, load, periodic faults, the auditor) lives with the reliability tests
(``tox -e soak``); this module only turns its samples into files under ``bench/results/``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ameide_bench.plot import PlotUnavailableError, _pyplot


@dataclass(frozen=True, slots=True)
class Sample:
    """What one sampling interval saw.

    Attributes:
        t: Seconds since the soak started (end of the interval).
        writes_per_s: Acknowledged writes per second in the interval.
        write_p95_ms: 95th percentile of a write, first send to acknowledgement (retries included).
        read_p95_ms: 95th percentile of another client's GetMessages.
        rss_mib: Resident set size of each deployable.
        outbox: Events not yet projected at the end of the interval.
        streams: Live update streams open at the end of the interval.
        failures: Calls that failed in the interval (retried or not).
    """

    t: float
    writes_per_s: float
    write_p95_ms: float
    read_p95_ms: float
    rss_mib: dict[str, float]
    outbox: int
    streams: int
    failures: int


@dataclass(slots=True)
class SoakResult:
    """A whole soak run."""

    minutes: float
    samples: list[Sample]
    faults: list[tuple[float, str]]
    verdict: dict[str, Any]
    totals: dict[str, Any] = field(default_factory=dict)


def per_minute(result: SoakResult) -> list[dict[str, Any]]:
    """One row per minute: mean throughput, worst p95s, peak RSS, faults injected in that minute."""
    rows = []
    last_minute = int(max((s.t for s in result.samples), default=0) // 60)
    for minute in range(last_minute + 1):
        window = [s for s in result.samples if minute * 60 < s.t <= (minute + 1) * 60]
        if not window:
            continue
        names = sorted({name for s in window for name in s.rss_mib})
        rows.append(
            {
                "minute": minute + 1,
                "writes/s": round(statistics.fmean(s.writes_per_s for s in window), 1),
                "write p95 ms": round(max(s.write_p95_ms for s in window), 1),
                "read p95 ms": round(max(s.read_p95_ms for s in window), 1),
                "rss MiB": {n: round(max(s.rss_mib.get(n, 0.0) for s in window), 1) for n in names},
                "streams": max(s.streams for s in window),
                "faults": [label for t, label in result.faults if minute * 60 < t <= (minute + 1) * 60],
            }
        )
    return rows


def markdown(result: SoakResult) -> str:
    """The per-minute table and the auditor's verdict."""
    lines = [
        f"# Soak: {result.minutes:g} minutes",
        "",
        "| minute | writes/s | write p95 ms | read p95 ms | RSS MiB (peak) | streams | faults |",
        "|---:|---:|---:|---:|---|---:|---|",
    ]
    for row in per_minute(result):
        rss = ", ".join(f"{k} {v:g}" for k, v in row["rss MiB"].items())
        lines.append(
            f"| {row['minute']} | {row['writes/s']:g} | {row['write p95 ms']:g} | {row['read p95 ms']:g} | {rss} "
            f"| {row['streams']} | {'; '.join(row['faults'])} |"
        )
    lines += ["", "## Totals", "", *(f"- {k}: {v}" for k, v in result.totals.items())]
    lines += ["", "## Auditor", "", *(f"- {k}: {v}" for k, v in result.verdict.items())]
    return "\n".join(lines) + "\n"


def chart(result: SoakResult, path: Path) -> None:
    """Throughput, p95 latencies and RSS over time, with a line at each fault."""
    plt = _pyplot()
    t = [s.t / 60 for s in result.samples]
    figure, (top, middle, bottom) = plt.subplots(3, 1, figsize=(12, 10), sharex=True)
    top.plot(t, [s.writes_per_s for s in result.samples], color="#4a7fb5")
    top.set_ylabel("acknowledged writes/s")
    middle.plot(t, [s.write_p95_ms for s in result.samples], label="write p95 (retries included)")
    middle.plot(t, [s.read_p95_ms for s in result.samples], label="other client's read p95")
    middle.set_ylabel("ms")
    middle.set_yscale("log")
    middle.legend(loc="upper right")
    names = sorted({name for s in result.samples for name in s.rss_mib})
    for name in names:
        bottom.plot(t, [s.rss_mib.get(name, float("nan")) for s in result.samples], label=name)
    bottom.set_ylabel("RSS MiB")
    bottom.set_xlabel("minutes")
    bottom.legend(loc="upper left", fontsize="small")
    for when, label in result.faults:
        for axis in (top, middle, bottom):
            axis.axvline(when / 60, color="#d2423b", alpha=0.35, linewidth=1)
        top.text(when / 60, 0.98, label, transform=top.get_xaxis_transform(), rotation=90, fontsize=7, va="top")
    verdict = "auditor: clean" if result.verdict.get("ok") else "auditor: PROBLEMS"
    figure.suptitle(f"Soak {result.minutes:g} min under periodic faults - {verdict}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(result: SoakResult, directory: Path, stem: str) -> list[Path]:
    """``<stem>.json``, ``<stem>.md`` and (with matplotlib) ``<stem>.png``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "minutes": result.minutes,
        "samples": [asdict(s) for s in result.samples],
        "faults": result.faults,
        "verdict": result.verdict,
        "totals": result.totals,
        "per_minute": per_minute(result),
    }
    written = [directory / f"{stem}.json", directory / f"{stem}.md"]
    written[0].write_text(json.dumps(document, indent=2), encoding="utf-8")
    written[1].write_text(markdown(result), encoding="utf-8")
    try:
        chart(result, directory / f"{stem}.png")
        written.append(directory / f"{stem}.png")
    except PlotUnavailableError:
        pass
    return written


def load(path: Path) -> SoakResult:
    """A result written by ``write`` (to redraw or re-tabulate an old run)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    samples = [Sample(**s) for s in document["samples"]]
    faults = [(float(t), str(label)) for t, label in document["faults"]]
    return SoakResult(document["minutes"], samples, faults, document["verdict"], document.get("totals", {}))


def summary(samples: Sequence[Sample]) -> dict[str, float]:
    """Whole-run figures: mean throughput, worst p95s, peak RSS per deployable."""
    if not samples:
        return {}
    out: dict[str, float] = {
        "mean writes/s": round(statistics.fmean(s.writes_per_s for s in samples), 1),
        "worst write p95 ms": round(max(s.write_p95_ms for s in samples), 1),
        "median write p95 ms": round(statistics.median(s.write_p95_ms for s in samples), 1),
        "median read p95 ms": round(statistics.median(s.read_p95_ms for s in samples), 1),
    }
    for name in sorted({n for s in samples for n in s.rss_mib}):
        out[f"peak RSS {name} MiB"] = max(s.rss_mib.get(name, 0.0) for s in samples)
    return out
