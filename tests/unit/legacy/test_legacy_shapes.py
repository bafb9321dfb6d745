"""Text recovered from every shape that carries it: normalised to text parts, the original kept whole."""

from __future__ import annotations

import pytest

from ameide_cli.legacy import bodies, canonical
from ameide_cli.legacy.jsontext import MAX_DEPTH
from ameide_cli.legacy.jsontext import canonical as canonical_json
from ameide_cli.legacy.parts import RESERVED_TYPE, WHOLE_ATTACHMENTS, WHOLE_BODY, map_message
from ameide_cli.legacy.rows import MessageRow
from ameide_cli.legacy.text import SURROGATES
from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2
from tests.support.legacy_js import js_json
from tests.unit.legacy.legacy_rows import imported, message_row, structured

pytestmark = pytest.mark.unit


def _texts(message: types_pb2.ChatMessage) -> list[str]:
    return [part.text.text for part in message.parts if part.WhichOneof("kind") == "text"]


@pytest.mark.parametrize(
    ("body", "texts", "how"),
    [
        ('{"type":"text","text":"one part"}', ["one part"], bodies.ONE_PART),
        (js_json(js_json([{"type": "text", "text": "twice"}])), ["twice"], bodies.TWICE),
        (js_json(js_json(js_json([{"type": "text", "text": "thrice"}]))), ["thrice"], bodies.TWICE),
        ('"a bare string"', ["a bare string"], bodies.BARE),
        ('"[not json"', ["[not json"], bodies.BARE),
        ('{"text":"no type"}', ["no type"], bodies.ONE_PART),
        ('{"role":"user","content":"a whole message"}', ["a whole message"], bodies.WHOLE_MESSAGE),
        (
            '{"role":"user","content":"x","parts":[{"type":"text","text":"its parts"}]}',
            ["its parts"],
            bodies.WHOLE_MESSAGE,
        ),
        ('{"role":"assistant","content":[{"type":"text","text":"core"}]}', ["core"], bodies.WHOLE_MESSAGE),
        (js_json(js_json({"type": "text", "text": "\ud83d"})), ["\ufffd"], bodies.TWICE),
    ],
)
def test_text_is_recovered_from_shapes_that_carry_it(body: str, texts: list[str], how: str) -> None:
    """Each shape becomes text parts; the whole body is kept verbatim after them; the shape is noted."""
    row = message_row(body)
    message = imported(row)
    assert _texts(message) == texts
    assert structured(message, WHOLE_BODY) == [body]
    assert f"parts: {how}" in map_message(row).normalised
    assert _same(row)


@pytest.mark.parametrize(
    ("element", "text"),
    [({"text": "no type"}, "no type"), ({"type": "text", "content": "under content"}, "under content")],
)
def test_older_text_parts_inside_an_array_become_text_parts(element: dict[str, str], text: str) -> None:
    """A part holding only text, or its text under ``content``, is a text part; the body is kept whole."""
    body = js_json([element, {"type": "text", "text": "plain"}])
    row = message_row(body)
    message = imported(row)
    assert _texts(message) == [text, "plain"]
    assert structured(message, WHOLE_BODY) == [body]
    assert map_message(row).normalised == [f"parts: {bodies.RETYPED}"]
    assert _same(row)


@pytest.mark.parametrize(
    "body",
    ["null", "5", '{"no":"parts"}', '{"type":5}', "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2), "[1, 2"],
)
def test_bodies_without_readable_parts_are_kept_whole(body: str) -> None:
    """Nothing is guessed: the body is the message's only (structured) part, verbatim."""
    row = message_row(body)
    message = imported(row)
    assert [(p.structured.type, p.structured.json) for p in message.parts] == [(WHOLE_BODY, body)]
    assert _same(row)


def test_a_string_in_the_older_format_is_its_text_and_never_decoded() -> None:
    """In "Message" a string is the documented plain text, even when it looks like JSON."""
    row = message_row('"[{\\"type\\":\\"text\\",\\"text\\":\\"typed by a user\\"}]"', table="Message")
    message = imported(row)
    assert _texts(message) == ['[{"type":"text","text":"typed by a user"}]']
    assert map_message(row).normalised == []
    assert _same(row)


def test_a_legacy_part_of_a_reserved_type_is_never_taken_for_a_synthetic_one() -> None:
    """A legacy part typed ``x-legacy-parts`` is stored as ``x-legacy-type`` with its JSON verbatim."""
    body = '[{"type":"x-legacy-parts","text":"mine"}]'
    row = message_row(body)
    message = imported(row)
    assert [(p.structured.type, p.structured.json) for p in message.parts] == [(RESERVED_TYPE, body[1:-1])]
    assert _same(row)


@pytest.mark.parametrize(
    "column",
    [
        '{"name":"a.png","url":"u","contentType":"image/png"}',
        js_json(js_json([{"name": "a.png", "url": "u", "contentType": "image/png"}])),
    ],
)
def test_attachments_are_recovered_from_one_object_or_twice_encoded(column: str) -> None:
    """The entry becomes an Attachment; the column is kept whole beside it."""
    row = message_row("[]", attachments=column)
    message = imported(row)
    assert [(a.name, a.uri, a.mime_type) for a in message.attachments] == [("a.png", "u", "image/png")]
    assert structured(message, WHOLE_ATTACHMENTS) == [column]
    assert _same(row)


@pytest.mark.parametrize("column", ["{}", "5", '[{"name":"a.png"}]', '[{"name":"\\ud83d"}]'])
def test_attachments_that_do_not_fit_are_kept_whole(column: str) -> None:
    """No Attachment is made up: the column is kept whole instead."""
    row = message_row("[]", attachments=column)
    message = imported(row)
    assert list(message.attachments) == []
    assert structured(message, WHOLE_ATTACHMENTS) == [column]
    assert _same(row)


def test_tool_calls_in_a_recovered_body_still_name_their_document() -> None:
    """The relations read from a body encoded twice are those of the array it holds."""
    call = {"type": "tool-createDocument", "output": {"id": "5f0b8a3e-2d6c-4c1b-9e7a-1a2b3c4d5e6f"}}
    mapped = map_message(message_row(js_json(js_json([call]))))
    assert mapped.parsed == [call]


def test_huge_integers_are_read_like_other_numbers() -> None:
    """JSON allows integers longer than Python converts by default: the part stays verbatim."""
    body = '[{"type":"data","n":' + "9" * 5000 + "}]"
    row = message_row(body)
    assert [p.structured.json for p in imported(row).parts] == [body[1:-1]]
    assert _same(row)


def test_surrogates_in_a_double_encoded_body_are_noted_once_per_field() -> None:
    """The reasons name the field and the change."""
    row = message_row(js_json(js_json([{"type": "text", "text": "\ud83d"}])))
    assert map_message(row).normalised == [f"parts: {bodies.TWICE}", f"parts: {SURROGATES}"]


def _same(row: MessageRow) -> bool:
    """The verification's two forms of a row are equal (what an import verified clean means)."""
    legacy = canonical_json(canonical.legacy_message(row))
    return legacy == canonical_json(canonical.imported_message(imported(row), row.table))
