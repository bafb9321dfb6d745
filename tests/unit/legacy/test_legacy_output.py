"""Legacy text on the way out: the console (any terminal encoding), the JSON report, the checksum, the arguments."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from ameide_cli.legacy import console
from ameide_cli.legacy.checks import Checks
from ameide_cli.legacy.cli import EXIT_USAGE, _print, main
from ameide_cli.legacy.report import Report

pytestmark = pytest.mark.unit

# What legacy values put into reasons and keys: a cut emoji, NUL, markup, non-ASCII.
AWKWARD = "title \ud83d nul\x00 [/x] [bold]Ünïcode ✓"


def _report() -> Report:
    report = Report()
    report.read("Message_v2", 2)
    report.table("Message_v2").appended = 2
    report.normalise("Message_v2", "Message_v2/1", f"role {AWKWARD!r} -> 'assistant'")
    report.normalise("Message_v2", "Message_v2/2", AWKWARD)
    checks = Checks()
    checks["messages"].add("Message_v2/1", {"title": AWKWARD}, {"title": AWKWARD + "!"})
    report.verification = checks.summary(AWKWARD)
    return report


@pytest.mark.parametrize("encoding", ["utf-8", "ascii", "latin-1"])
def test_the_console_prints_any_legacy_text_on_any_terminal(encoding: str) -> None:
    """Reasons and titles print escaped where the terminal cannot show them, never as markup, never failing."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, write_through=True)
    out = console.open_console(stream)
    out.print(console.table(_report()))
    out.print(console.reasons(_report()))
    out.print(console.verification(_report()))
    out.print(AWKWARD, markup=False)
    shown = raw.getvalue().decode(encoding)
    assert "[/x]" in shown
    assert "[bold]" in shown
    assert "\\ud83d" in shown
    if encoding == "ascii":
        assert "\\xdc" in shown  # Ü, escaped for an ASCII terminal
    else:
        assert "Ü" in shown


def test_the_json_report_quotes_any_text_as_ascii_escapes(tmp_path: Path) -> None:
    """The report file is valid UTF-8 JSON whatever it quotes; parsed back, the text is the same."""
    target = tmp_path / "report.json"
    args = argparse.Namespace(verify=False, report=target, dry_run=False)
    _print(_report(), args, console.open_console(io.StringIO()))
    written = target.read_bytes()
    assert written.isascii()
    parsed = json.loads(written)
    reasons = parsed["tables"]["Message_v2"]["normalised"]
    assert AWKWARD in reasons
    example = parsed["verification"]["checks"]["messages"]["examples"][0]
    assert example["legacy"] == {"title": AWKWARD}


def test_the_checksum_covers_any_string() -> None:
    """Digests are computed over strings no encoder accepts as they are (lone surrogates)."""
    checks = Checks()
    checks["chats"].add("1", {"title": "\ud83d"}, {"title": "\ud83d"})
    checks["chats"].add("2", {"title": "\ud83d"}, {"title": "\ufffd"})
    summary = checks.summary("test")["checks"]["chats"]
    assert (summary["equal"], summary["different"]) == (1, 1)
    assert summary["legacy_sha256"] != summary["imported_sha256"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--source", "postgresql://x/y", "--tenant", ""],
        ["--source", "postgresql://x/y", "--tenant", "acme\udcff"],
        ["--source", "postgresql://x/y\x00", "--tenant", "acme"],
        ["--source", "postgresql://x/y", "--tenant", "acme", "--database-url", "postgresql://\udcff"],
    ],
)
def test_arguments_no_event_or_connection_could_carry_are_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An argument that is not UTF-8 (a surrogate, as Python reads such bytes) or holds NUL is refused: exit 2."""
    assert main(argv) == EXIT_USAGE
    assert "ameide import-legacy: error: argument" in capsys.readouterr().err
