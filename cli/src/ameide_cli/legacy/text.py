r"""The text policy: what becomes of legacy text that the contract cannot carry.

Every string the importer reads from the legacy database (a column's value, or any key or string inside a JSON
column) passes through it.

- **UTF-16 surrogates -> U+FFFD.** JavaScript strings are UTF-16; one cut in the middle of an emoji keeps half of a
  surrogate pair, ``JSON.stringify`` writes it as a ``\ud83d`` escape and a ``json`` column keeps that escape
  verbatim (``jsonb`` would reject it). Protobuf strings must be valid UTF-8, which has no encoding for a lone
  surrogate, so each one becomes U+FFFD, as the legacy app's own driver did when it wrote such a string to a
  ``text`` column. Two surrogates that form a pair are read as the character they encode, as JavaScript does.
- **Invalid UTF-8 -> U+FFFD.** A legacy database whose encoding is SQL_ASCII hands back text as the bytes stored;
  ``decode`` reads bytes that are not UTF-8 as lone surrogates (``surrogateescape``), which the rule above replaces.
- **NUL (U+0000) is removed.** PostgreSQL ``text`` and ``jsonb`` cannot hold it, so the read model could not store
  an event carrying one (the command side refuses it in titles and names for that reason). It carries no visible
  text; the read model's search text drops it too.

Everything else is valid UTF-8 and is kept as it is: other control characters, noncharacters, private use.
Each change is counted in the report as ``normalised``, with the column it was found in and what was done.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

REPLACEMENT = "\ufffd"
NUL = "\x00"
# One search finds whether a string needs the policy at all: most legacy text does not.
_UNFIT = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATES = "lone UTF-16 surrogate or invalid UTF-8 replaced by U+FFFD"
NULS = "NUL removed"


def decode(value: str | bytes) -> str:
    """A text column's value as a string (a SQL_ASCII database returns bytes; invalid UTF-8 becomes surrogates)."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def fit(value: str) -> str:
    """``value`` as the contract can carry it (see the module docstring)."""
    return _fit(value)[0]


def _fit(value: str) -> tuple[str, tuple[str, ...]]:
    """The fitted value and what was done to it (empty when nothing was)."""
    if _UNFIT.search(value) is None:
        return value, ()
    done: list[str] = []
    if NUL in value:
        value = value.replace(NUL, "")
        done.append(NULS)
    if _SURROGATE.search(value) is not None:
        # Through UTF-16: a pair becomes its character, a lone surrogate U+FFFD.
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        done.append(SURROGATES)
    return value, tuple(done)


def escape_surrogates(text: str) -> str:
    r"""``text`` with each surrogate written as a JSON ``\uXXXX`` escape (only valid inside JSON strings)."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class Notes:
    """What the policy (and the shape rules) changed in one legacy row: the row's ``normalised`` reasons."""

    def __init__(self) -> None:
        self._reasons: dict[str, None] = {}  # insertion-ordered set: the report lists them in reading order

    def add(self, field: str, what: str) -> None:
        """Record that ``what`` was done to the row's ``field``."""
        self._reasons[f"{field}: {what}"] = None

    def extend(self, other: Notes) -> None:
        """Add what another row part's notes recorded."""
        self._reasons.update(other._reasons)

    def text(self, field: str, value: str) -> str:
        """One string of ``field``, fitted."""
        fitted, done = _fit(value)
        for what in done:
            self.add(field, what)
        return fitted

    def value(self, field: str, value: Any) -> Any:  # noqa: ANN401 - any parsed JSON value
        """A parsed JSON value of ``field`` with every key and string fitted (nesting is bounded by ``jsontext``)."""
        if isinstance(value, str):
            return self.text(field, value)
        if isinstance(value, list):
            return [self.value(field, item) for item in value]
        if isinstance(value, dict):
            return {self.text(field, key): self.value(field, item) for key, item in value.items()}
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._reasons)

    def __bool__(self) -> bool:
        return bool(self._reasons)
