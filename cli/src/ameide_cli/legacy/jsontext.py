"""JSON text helpers that keep the original bytes: the elements of an array exactly as they were written.

Parsing is total over what a PostgreSQL ``json`` column can hold: nesting deeper than ``MAX_DEPTH`` and numbers
Python would refuse to convert raise ``ValueError`` like any other text that cannot be read, never something else.
"""

from __future__ import annotations

import json
from typing import Any

from ameide_cli.legacy.text import escape_surrogates

# Legacy apps nest a few levels; the bound keeps every walk over a parsed value (the text policy, the canonical
# form, the checksum) far from the interpreter's recursion limit.
MAX_DEPTH = 100
# Python refuses to convert longer digit strings to int (CVE-2020-10735); JSON allows them.
_MAX_INT_DIGITS = 4000
_WHITESPACE = " \t\n\r"


def _number(text: str) -> int | float:
    # A longer integer is compared as a float; the part that holds it keeps its text verbatim.
    return int(text) if len(text) <= _MAX_INT_DIGITS else float(text)


_DECODER = json.JSONDecoder(parse_int=_number)


class NotAnArrayError(ValueError):
    """The text is valid JSON but not an array (``value`` holds what it is)."""

    def __init__(self, value: object) -> None:
        super().__init__(f"not a JSON array: {type(value).__name__}")
        self.value = value


def _bounded(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    """``value`` itself, after checking its nesting without recursion."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return value


def _raw_decode(text: str, index: int) -> tuple[Any, int]:
    try:
        value, end = _DECODER.raw_decode(text, index)
    except RecursionError as exc:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from exc
    return _bounded(value), end


def loads(text: str) -> Any:  # noqa: ANN401 - any JSON value
    """Parse ``text`` (ValueError when it is not JSON this importer can read, see the module docstring)."""
    value, end = _raw_decode(text, _skip(text, 0))
    if _skip(text, end) != len(text):
        raise json.JSONDecodeError("extra data", text, end)
    return value


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def split_array(text: str) -> list[str]:
    """The verbatim text of each element of the JSON array ``text``.

    Raises:
        NotAnArrayError: ``text`` is valid JSON of another type.
        ValueError: ``text`` is not JSON this importer can read.
    """
    index = _skip(text, 0)
    if index >= len(text) or text[index] != "[":
        raise NotAnArrayError(loads(text))
    elements: list[str] = []
    index = _skip(text, index + 1)
    if index < len(text) and text[index] == "]":
        _expect_end(text, index + 1)
        return elements
    while True:
        _, end = _raw_decode(text, index)
        elements.append(text[index:end])
        index = _skip(text, end)
        if index < len(text) and text[index] == ",":
            index = _skip(text, index + 1)
            continue
        if index < len(text) and text[index] == "]":
            _expect_end(text, index + 1)
            return elements
        raise json.JSONDecodeError("expected ',' or ']'", text, index)


def _expect_end(text: str, index: int) -> None:
    index = _skip(text, index)
    if index != len(text):
        raise json.JSONDecodeError("extra data after the array", text, index)


def dumps(value: Any) -> str:  # noqa: ANN401 - any JSON value
    """JSON text of ``value`` keeping every code point: lone surrogates and NUL as escapes, so it is valid UTF-8."""
    return escape_surrogates(json.dumps(value, ensure_ascii=False, allow_nan=True))


def canonical(value: Any) -> str:  # noqa: ANN401 - any JSON value
    """One spelling per JSON value (sorted keys, no spaces): what checksums are computed over.

    Any string can be spelt, so a checksum never fails on the text it covers.
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True)
    return escape_surrogates(text)
