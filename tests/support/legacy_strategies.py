"""Hypothesis strategies for legacy rows: any code point in text, any JSON in JSON columns, every known shape.

``*_json`` strategies give a JSON column's text as the JavaScript app wrote it (``js_json``); text columns are
given as Python strings, which tests that store them in PostgreSQL pass through ``js_text`` first.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from hypothesis import strategies as st

from tests.support.legacy_js import js_json

# Hypothesis leaves surrogates out of text unless asked: these are what the importer must survive.
_AWKWARD = ["\x00", "\ud83d", "\ude00", "\udc80", "\ufffd", "\uffff", "😀", "\u202e", "\x1f", "\\", '"', "[", "/", "]"]
CHARACTERS = st.one_of(st.characters(codec=None), st.characters(categories=["Cs"]), st.sampled_from(_AWKWARD))
TEXT = st.text(CHARACTERS, max_size=12)
ROLES = st.one_of(
    st.sampled_from(["user", "assistant", "system", "tool", "function", "data", "User", " assistant "]), TEXT
)
PART_TYPES = st.one_of(
    st.sampled_from(
        [
            "text",
            "file",
            "reasoning",
            "step-start",
            "source-url",
            "tool-createDocument",
            "tool-invocation",
            "x-legacy-parts",
        ]
    ),
    TEXT,
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT)
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(TEXT, children, max_size=3)),
    max_leaves=8,
)


def _image_data() -> st.SearchStrategy[str]:
    return st.one_of(st.binary(max_size=12).map(lambda data: base64.b64encode(data).decode()), TEXT)


def parts(documents: list[uuid.UUID] | None = None) -> st.SearchStrategy[Any]:
    """One message part: the shapes the legacy app writes (with any text in them), odd types, any JSON."""
    ids = st.sampled_from([str(d) for d in documents]) if documents else st.uuids().map(str)
    return st.one_of(
        st.builds(lambda t: {"type": "text", "text": t}, TEXT),
        st.builds(lambda t, s: {"type": "text", "text": t, "state": s}, TEXT, st.sampled_from(["done", "streaming"])),
        st.builds(lambda t: {"text": t}, TEXT),
        st.builds(lambda t: {"type": "text", "content": t}, TEXT),
        st.builds(lambda m, u: {"type": "file", "mediaType": m, "url": u}, st.sampled_from(["image/png", "x"]), TEXT),
        st.builds(lambda d: {"type": "file", "mimeType": "image/png", "data": d}, _image_data()),
        st.builds(lambda t: {"type": "reasoning", "text": t, "providerMetadata": {}}, TEXT),
        st.builds(
            lambda i, t: {
                "type": "tool-createDocument",
                "state": "output-available",
                "input": {},
                "output": {"id": i, "title": t},
            },
            ids,
            TEXT,
        ),
        st.builds(lambda i: {"type": "tool-updateDocument", "input": {"id": i}, "output": {"id": i}}, ids),
        st.builds(lambda kind, value: {"type": kind, "value": value}, PART_TYPES, JSON),
        JSON,
    )


def bodies(documents: list[uuid.UUID] | None = None) -> st.SearchStrategy[str]:
    """A message's parts column as JSON text: an array of parts, or one of the other shapes it has been seen in."""
    part = parts(documents)
    listed = st.lists(part, max_size=4)
    return st.one_of(
        listed.map(js_json),
        part.map(js_json),  # one part object
        listed.map(lambda value: js_json(js_json(value))),  # encoded twice
        TEXT.map(js_json),  # a bare string (the older format's plain text)
        st.builds(lambda t, p: js_json({"role": "user", "content": t, "parts": p}), TEXT, listed),
        st.builds(lambda content: js_json({"role": "assistant", "content": content}), st.one_of(TEXT, listed)),
        JSON.map(js_json),
        st.integers(101, 300).map(lambda depth: "[" * depth + "]" * depth),  # deeper than the importer reads
    )


def attachments() -> st.SearchStrategy[str]:
    """A "Message_v2" attachments column as JSON text."""
    entry = st.one_of(
        st.builds(lambda n, u, c: {"name": n, "url": u, "contentType": c}, TEXT, TEXT, TEXT),
        JSON,
    )
    listed = st.lists(entry, max_size=3)
    return st.one_of(listed.map(js_json), entry.map(js_json), listed.map(lambda v: js_json(js_json(v))))
