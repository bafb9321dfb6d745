"""Checksum comparison: each record's canonical legacy form against its imported form, with digests per kind."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ameide_cli.legacy.jsontext import canonical

EXAMPLES = 20


@dataclass(slots=True)
class Check:
    """One kind of record (chats, messages, document versions, ...)."""

    compared: int = 0
    equal: int = 0
    different: int = 0
    missing: int = 0
    legacy: list[str] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, key: str, expected: Any, actual: Any) -> None:  # noqa: ANN401 - JSON forms
        """Compare one record (``actual`` None = not found)."""
        self.compared += 1
        want = canonical(expected)
        self.legacy.append(f"{key}\t{want}")
        if actual is None:
            self.missing += 1
            self._example(key, "missing", expected, None)
            return
        got = canonical(actual)
        self.imported.append(f"{key}\t{got}")
        if want == got:
            self.equal += 1
        else:
            self.different += 1
            self._example(key, "different", expected, actual)

    def _example(self, key: str, what: str, expected: Any, actual: Any) -> None:  # noqa: ANN401 - JSON forms
        if len(self.examples) < EXAMPLES:
            self.examples.append({"key": key, "what": what, "legacy": expected, "imported": actual})

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary with the two digests (equal digests = every record identical)."""
        return {
            "compared": self.compared,
            "equal": self.equal,
            "different": self.different,
            "missing": self.missing,
            "legacy_sha256": _digest(self.legacy),
            "imported_sha256": _digest(self.imported),
            "examples": self.examples,
        }


def _digest(lines: list[str]) -> str:
    hasher = hashlib.sha256()
    for line in sorted(lines):
        hasher.update(line.encode())
        hasher.update(b"\n")
    return hasher.hexdigest()


@dataclass(slots=True)
class Checks:
    """All checks of one verification."""

    by_kind: dict[str, Check] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> Check:
        return self.by_kind.setdefault(kind, Check())

    def summary(self, through: str) -> dict[str, Any]:
        """What goes into the report."""
        checks = {kind: check.as_dict() for kind, check in self.by_kind.items()}
        differences = sum(check.different + check.missing for check in self.by_kind.values())
        return {"through": through, "checks": checks, "differences": differences}
