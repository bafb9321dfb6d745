"""Reading a legacy message's JSON columns: the parts (and attachments) they hold, in every shape that holds them.

The import maps what is read here to contract parts, and the verification compares against it, so both agree on
what a legacy message says. Text goes through the text policy (``text.Notes``). Besides a JSON array of parts, the
body is read from each shape whose text is unambiguous (each one noted, and the body then kept whole, verbatim):

- one part object instead of an array (``{"type": "text", "text": ...}``): a one-part array;
- an array encoded twice (a JSON string whose content is JSON, as ``JSON.stringify`` applied twice leaves it);
- a bare string in "Message_v2" (a plain string is the older "Message" format's way to say "just text"): text;
- a whole message object (``{"role", "content", "parts"}``): its ``parts``, else its ``content`` (a string is text,
  an array is the older format's content parts).

Within the parts, a part is brought to one form: ``{"type": "text", "text": ...}`` also stands for a text part
finished streaming (``"state": "done"``, implied), an object holding only ``text`` (no type) and a text part whose
text is under ``content`` (older writers). What cannot be read stays as it was, kept whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ameide_cli.legacy import jsontext
from ameide_cli.legacy.jsontext import NotAnArrayError, split_array
from ameide_cli.legacy.rows import MessageTable
from ameide_cli.legacy.text import Notes

TEXT = "text"
# A JSON string holding JSON is decoded this many times at most (a body encoded three times is read too).
MAX_DECODINGS = 3
_JSON_START = ("[", "{", '"')
_ATTACHMENT_KEYS = frozenset({"name", "url", "contentType"})
KEPT_WHOLE = "not an array of parts: kept whole"
NOT_JSON = "not JSON that can be read: kept whole"
UNTYPED = "part without a type: kept verbatim"
ONE_PART = "one part object instead of an array: read as a one-part array"
TWICE = "JSON encoded twice (a JSON string holding JSON): decoded"
BARE = "a bare string: read as one text part"
WHOLE_MESSAGE = "a whole message object: its parts read"
RETYPED = "text part in an older shape (no type, or text under content): read as a text part"
ATTACHMENTS_KEPT = "not all {name, url, contentType}: kept whole"
ONE_ENTRY = "one entry object instead of an array: read as a one-entry array"
NOT_A_LIST = "not an array: kept whole"


@dataclass(frozen=True, slots=True)
class Part:
    """One part (or attachment entry) as read.

    Attributes:
        text: Its verbatim JSON text, or None when it was recovered from another shape.
        raw: The part as written (its strings may hold lone surrogates).
        value: The part after the text policy, in its one form: what the import maps and the verification compares.
        changed: Whether ``value`` says something other than ``raw`` (text normalised or shape changed): a contract
            part made from it no longer gives the original back, so the original is kept whole beside it.
    """

    text: str | None
    raw: Any
    value: Any
    changed: bool


@dataclass(frozen=True, slots=True)
class Read:
    """A JSON column as read.

    Attributes:
        text: The column's text after the text policy: its original, kept whole and verbatim where needed.
        items: The parts or attachment entries read, or None when the column holds none in any known shape.
        whole: The whole column's value (after the text policy) when ``items`` is None.
        recovered: Whether ``items`` were recovered from another shape than a JSON array.
    """

    text: str
    items: list[Part] | None
    whole: Any
    recovered: bool = False

    def form(self) -> Any:  # noqa: ANN401 - a JSON value
        """What the column says, as the verification compares it."""
        return self.whole if self.items is None else [item.value for item in self.items]


def _part(text: str | None, raw: Any, notes: Notes, field: str, *, entry: bool = False) -> Part:  # noqa: ANN401
    policy = Notes()
    cleaned = policy.value(field, raw)
    value = cleaned if entry else normal_part(cleaned, notes, field)
    notes.extend(policy)
    retyped = is_text(value) and not _standard_text(cleaned)
    return Part(text, raw, value, changed=bool(policy) or retyped)


def read_parts(table: MessageTable, body: str, notes: Notes) -> Read:
    """The parts of a message body ("parts" of "Message_v2", "content" of "Message")."""
    field = "parts" if table == "Message_v2" else "content"
    text = notes.text(field, body)
    try:
        elements = split_array(text)
    except NotAnArrayError as error:
        if table == "Message" and isinstance(error.value, str):
            # The older format's way to store a message that is just text.
            return Read(text, [_part(None, {"type": TEXT, "text": error.value}, notes, field)], None)
        found = _recover(error.value, MAX_DECODINGS)
        if found is None:
            notes.add(field, KEPT_WHOLE)
            return Read(text, None, notes.value(field, error.value))
        raws, how = found
        for what in how:
            notes.add(field, what)
        return Read(text, [_part(None, raw, notes, field) for raw in raws], None, recovered=True)
    except ValueError:
        notes.add(field, NOT_JSON)
        return Read(text, None, {"unparsed": text})
    return Read(text, [_part(element, jsontext.loads(element), notes, field) for element in elements], None)


def _recover(value: Any, decodings: int) -> tuple[list[Any], list[str]] | None:  # noqa: ANN401 - a JSON value
    """The parts a body that is not an array holds unambiguously, and how they were found (None: none)."""
    if isinstance(value, str):
        decoded = _decoded(value) if decodings else None
        if decoded is None:
            return [{"type": TEXT, "text": value}], [BARE]
        found = _recover(decoded, decodings - 1)
        return None if found is None else (found[0], [TWICE, *found[1]])
    if isinstance(value, list):
        return list(value), []
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("type"), str) or value.keys() == {TEXT}:
        return [value], [ONE_PART]
    # A whole message: its parts, else its content (text, or the older format's content parts).
    held = value.get("parts") if isinstance(value.get("parts"), list) else value.get("content")
    if isinstance(held, str):
        held = [{"type": TEXT, "text": held}]
    return (list(held), [WHOLE_MESSAGE]) if isinstance(held, list) else None


def _decoded(text: str) -> Any:  # noqa: ANN401 - a JSON value
    """The JSON value a string holds, when it holds an array, an object or a string, else None."""
    stripped = text.strip()
    if not stripped.startswith(_JSON_START):
        return None
    try:
        return jsontext.loads(stripped)
    except ValueError:
        return None


def normal_part(value: Any, notes: Notes | None = None, field: str = "parts") -> Any:  # noqa: ANN401
    """A part in its one form (a text part as ``{"type": "text", "text": ...}``), noting a change of shape."""
    if not isinstance(value, dict):
        if notes is not None:
            notes.add(field, UNTYPED)
        return value
    if _standard_text(value):
        # "state": "done" only says streaming had finished, which every stored message has: it is implied.
        return {"type": TEXT, "text": value[TEXT]}
    keys = value.keys()
    kind = value.get("type")
    older = None
    if keys == {TEXT} and isinstance(value[TEXT], str):
        older = value[TEXT]
    elif kind == TEXT and keys == {"type", "content"} and isinstance(value["content"], str):
        older = value["content"]
    if older is not None:
        if notes is not None:
            notes.add(field, RETYPED)
        return {"type": TEXT, "text": older}
    if not isinstance(kind, str) and notes is not None:
        notes.add(field, UNTYPED)
    return value


def _standard_text(value: Any) -> bool:  # noqa: ANN401 - a part's value
    """A text part as the legacy app writes it (``"state": "done"`` is implied, see ``normal_part``)."""
    return (
        isinstance(value, dict)
        and value.get("type") == TEXT
        and isinstance(value.get(TEXT), str)
        and (value.keys() == {"type", TEXT} or (value.keys() == {"type", TEXT, "state"} and value["state"] == "done"))
    )


def is_text(value: Any) -> bool:  # noqa: ANN401 - a part's value
    """Whether a part (in its one form) is a plain text part."""
    return (
        isinstance(value, dict)
        and value.keys() == {"type", TEXT}
        and value["type"] == TEXT
        and isinstance(value[TEXT], str)
    )


def read_attachments(column: str, notes: Notes) -> Read:
    """The attachments column of "Message_v2": its entries (also from one object, or an array encoded twice)."""
    field = "attachments"
    text = notes.text(field, column)
    try:
        value = jsontext.loads(text)
    except ValueError:
        notes.add(field, NOT_JSON)
        return Read(text, None, {"unparsed": text})
    how: list[str] = []
    for _ in range(MAX_DECODINGS):
        decoded = _decoded(value) if isinstance(value, str) else None
        if decoded is None:
            break
        how.append(TWICE)
        value = decoded
    if isinstance(value, dict):
        how.append(ONE_ENTRY)
        value = [value]
    if not isinstance(value, list):
        notes.add(field, NOT_A_LIST)
        return Read(text, None, notes.value(field, value))
    for what in how:
        notes.add(field, what)
    entries = [_part(None, raw, notes, field, entry=True) for raw in value]
    if not all(fits(entry.value) for entry in entries):
        notes.add(field, ATTACHMENTS_KEPT)
    return Read(text, entries, None, recovered=bool(how))


def fits(entry: Any) -> bool:  # noqa: ANN401 - an attachment entry
    """Whether an attachment entry is exactly ``{name, url, contentType}`` of strings (a contract Attachment)."""
    return (
        isinstance(entry, dict)
        and entry.keys() == _ATTACHMENT_KEYS
        and all(isinstance(entry[key], str) for key in _ATTACHMENT_KEYS)
    )
