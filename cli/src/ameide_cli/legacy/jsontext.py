"""JSON text helpers that keep the original bytes: the elements of an array exactly as they were written."""

from __future__ import annotations

import json
from typing import Any

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


class NotAnArrayError(ValueError):
    """The text is valid JSON but not an array (``value`` holds what it is)."""

    def __init__(self, value: object) -> None:
        super().__init__(f"not a JSON array: {type(value).__name__}")
        self.value = value


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def split_array(text: str) -> list[str]:
    """The verbatim text of each element of the JSON array ``text``.

    Raises:
        NotAnArrayError: ``text`` is valid JSON of another type.
        ValueError: ``text`` is not valid JSON (``json.JSONDecodeError``).
    """
    index = _skip(text, 0)
    if index >= len(text) or text[index] != "[":
        raise NotAnArrayError(json.loads(text))
    elements: list[str] = []
    index = _skip(text, index + 1)
    if index < len(text) and text[index] == "]":
        _expect_end(text, index + 1)
        return elements
    while True:
        _, end = _DECODER.raw_decode(text, index)
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


def canonical(value: Any) -> str:  # noqa: ANN401 - any JSON value
    """One spelling per JSON value (sorted keys, no spaces): what checksums are computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True)
