"""The examples of the documentation: fenced blocks of the Markdown files and ``Example::`` blocks of docstrings.

docs/examples.md is the convention. In short: every ``python``, ``ts``, ``bash`` or ``sh`` block of a Markdown file
of the repository is an example. Its info string may add one mode word after the language:

- (none): run against the real services;
- ``static``: checked without running (Python compiles; shell parses and names existing commands, flags, RPCs);
- ``stream`` (shell): run until it has printed its first message, then stopped (a live stream never ends);
- ``prelude`` (shell): set-up that runs before every shell example of the other documents in its folder.

Blocks in any other language (``text``, ``mermaid``, none) are not examples. A ``python``/``ts``/``bash`` block with
an unknown mode word is an error, so a typo never turns an example off.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]

LANGUAGES = {"python": "python", "py": "python", "ts": "ts", "typescript": "ts", "bash": "bash", "sh": "bash"}
MODES = {
    "python": frozenset({"run", "static"}),
    "ts": frozenset({"run"}),
    "bash": frozenset({"run", "static", "stream", "prelude"}),
}
# Folders never searched for documents: tools' caches, installed packages, build output.
SKIPPED_DIRS = frozenset({".git", ".tox", "node_modules", "dist", "build", ".venv", ".ci-venv", ".ameide-dev"})

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_EXAMPLE_HEAD = re.compile(r"::\s*$")


class ExampleMarkupError(ValueError):
    """A block claims to be an example but its info string is not understood."""


@dataclass(frozen=True, slots=True)
class Example:
    """One example: where it is written, its language and mode, and its code (dedented)."""

    path: str
    line: int
    lang: str
    mode: str
    code: str

    @property
    def where(self) -> str:
        """``path:line`` of the example's first code line."""
        return f"{self.path}:{self.line}"

    def padded(self) -> str:
        """The code preceded by blank lines, so that compiled line numbers are the document's."""
        return "\n" * (self.line - 1) + self.code


def documents(root: Path = ROOT) -> list[Path]:
    """Every Markdown file of the repository, in a stable order."""
    found: list[Path] = []
    for path in sorted(root.rglob("*.md")):
        relative = path.relative_to(root)
        if not any(part in SKIPPED_DIRS for part in relative.parts[:-1]):
            found.append(path)
    return found


def markdown_examples(path: Path, root: Path = ROOT) -> list[Example]:
    """The examples of one Markdown file."""
    relative = path.relative_to(root).as_posix()
    return list(_blocks(relative, path.read_text(encoding="utf-8").splitlines()))


def _blocks(relative: str, lines: list[str]) -> Iterator[Example]:
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not _closes(lines[end], fence):
            body.append(lines[end][indent:] if lines[end][:indent].strip() == "" else lines[end])
            end += 1
        example = _example(relative, index + 2, opening["info"].split(), body)
        if example is not None:
            yield example
        index = end + 1


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _example(relative: str, line: int, words: list[str], body: list[str]) -> Example | None:
    if not words or words[0].lower() not in LANGUAGES:
        return None
    lang = LANGUAGES[words[0].lower()]
    mode = words[1] if len(words) > 1 else "run"
    if len(words) > 2 or mode not in MODES[lang]:
        raise ExampleMarkupError(
            f"{relative}:{line - 1}: '{' '.join(words)}': a {lang} example takes one of the modes "
            f"{', '.join(sorted(MODES[lang]))} (see docs/examples.md)"
        )
    return Example(relative, line, lang, mode, "\n".join(body) + "\n")


def all_markdown_examples(root: Path = ROOT) -> list[Example]:
    """The examples of every document."""
    return [example for path in documents(root) for example in markdown_examples(path, root)]


def docstring_examples(module: ModuleType, root: Path = ROOT) -> list[Example]:
    """The ``Example::`` blocks of the docstrings of a package's public API (its ``__all__`` and their methods)."""
    found: dict[tuple[str, int], Example] = {}
    for name in getattr(module, "__all__", ()):
        for obj in _documented(getattr(module, name)):
            for example in _docstring_blocks(obj, root):
                found[example.path, example.line] = example
    return sorted(found.values(), key=lambda example: (example.path, example.line))


def _documented(obj: object) -> Iterable[object]:
    yield obj
    if inspect.isclass(obj):
        for attribute, member in vars(obj).items():
            if not attribute.startswith("_") and (inspect.isfunction(member) or isinstance(member, property)):
                yield member.fget if isinstance(member, property) else member


def _docstring_blocks(obj: object, root: Path) -> Iterator[Example]:
    doc = inspect.getdoc(obj)
    if not doc or "::" not in doc:
        return
    try:
        source_file = inspect.getsourcefile(obj)  # type: ignore[arg-type]
        source_lines, first_line = inspect.getsourcelines(obj)  # type: ignore[arg-type]
    except (TypeError, OSError):
        return
    if source_file is None:
        return
    relative = Path(source_file).resolve().relative_to(root).as_posix()
    for block in _literal_blocks(doc.splitlines()):
        line = _line_in_source(source_lines, first_line, block[0])
        yield Example(relative, line, "python", "run", textwrap.dedent("\n".join(block)) + "\n")


def _literal_blocks(doc_lines: list[str]) -> Iterator[list[str]]:
    """ReStructuredText literal blocks: a paragraph ending in ``::``, a blank line, then indented lines."""
    index = 0
    while index < len(doc_lines):
        if not _EXAMPLE_HEAD.search(doc_lines[index]):
            index += 1
            continue
        start = index + 1
        while start < len(doc_lines) and not doc_lines[start].strip():
            start += 1
        end = start
        while end < len(doc_lines) and (not doc_lines[end].strip() or doc_lines[end].startswith((" ", "\t"))):
            end += 1
        block = doc_lines[start:end]
        while block and not block[-1].strip():
            block.pop()
        if block:
            yield block
        index = max(end, index + 1)


def _line_in_source(source_lines: list[str], first_line: int, first_code: str) -> int:
    wanted = first_code.strip()
    for offset, text in enumerate(source_lines):
        if text.strip() == wanted:
            return first_line + offset
    return first_line
