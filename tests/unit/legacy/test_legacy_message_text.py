"""A message's text the contract cannot carry: imported normalised, the original kept, the checksum equal."""

from __future__ import annotations

import pytest

from ameide_cli.legacy import canonical
from ameide_cli.legacy.checks import Checks
from ameide_cli.legacy.parts import WHOLE_ATTACHMENTS, WHOLE_BODY, map_message
from ameide_cli.legacy.text import NULS, SURROGATES
from tests.unit.legacy.legacy_rows import imported, message_row, strings, structured

pytestmark = pytest.mark.unit

# As a json column keeps what JSON.stringify wrote for a string cut in the middle of an emoji.
CUT = '[{"type":"text","text":"Hello \\ud83d"}]'


def test_a_lone_surrogate_in_a_text_part_is_imported_as_a_replacement_character() -> None:
    """The value that stopped whole imports: the part is text, the original is kept verbatim, the row noted."""
    row = message_row(CUT)
    message = imported(row)
    assert message.parts[0].text.text == "Hello \ufffd"
    assert structured(message, WHOLE_BODY) == [CUT]
    assert map_message(row).normalised == [f"parts: {SURROGATES}"]


def test_the_checksum_of_a_normalised_message_is_computed_and_equal() -> None:
    """Verification compares against the normalised value: equal forms, digests computed (no encoding error)."""
    row = message_row(CUT, attachments='[{"name":"a\\u0000\\udc00.png","url":"u","contentType":"image/png"}]')
    checks = Checks()
    checks["messages"].add(row.key, canonical.legacy_message(row), canonical.imported_message(imported(row), row.table))
    summary = checks.summary("test")
    assert summary["differences"] == 0
    digests = summary["checks"]["messages"]
    assert digests["legacy_sha256"] == digests["imported_sha256"]


def test_nul_and_surrogates_in_attachments_are_normalised_and_the_column_kept() -> None:
    """An attachment's file name keeps what it can; the column stays whole beside it."""
    column = '[{"name":"re\\u0000port\\ud83d.pdf","url":"https://b.example/r.pdf","contentType":"application/pdf"}]'
    row = message_row('[{"type":"text","text":"see file"}]', attachments=column)
    message = imported(row)
    assert [(a.name, a.uri) for a in message.attachments] == [("report\ufffd.pdf", "https://b.example/r.pdf")]
    assert structured(message, WHOLE_ATTACHMENTS) == [column]
    assert map_message(row).normalised == [f"attachments: {NULS}", f"attachments: {SURROGATES}"]


def test_a_structured_part_keeps_its_escapes_verbatim_and_needs_no_copy() -> None:
    """A part kept as JSON text carries the original escapes itself: nothing else is added."""
    body = '[{"type":"reasoning","text":"\\ud83d and \\u0000"}]'
    message = imported(message_row(body))
    assert [(p.structured.type, p.structured.json) for p in message.parts] == [("reasoning", body[1:-1])]


def test_a_role_holding_nul_or_a_surrogate_is_normalised_and_kept_escaped() -> None:
    """The role read is fitted first; the original is kept with JSON escapes."""
    row = message_row('[{"type":"text","text":"x"}]', role="us\x00er\ud83d")
    message = imported(row)
    assert message.role == "assistant"
    assert structured(message, "x-legacy-role") == ['{"role": "us\\u0000er\\ud83d"}']
    assert canonical.imported_message(message, row.table)["role"] == "user\ufffd"


@pytest.mark.parametrize(("role", "kept"), [("user\x00", "user"), ("User", "user"), ("tool", "assistant")])
def test_roles_are_read_after_the_text_policy(role: str, kept: str) -> None:
    """A NUL does not hide a known role."""
    assert imported(message_row("[]", role=role)).role == kept


def test_every_string_of_the_imported_message_is_valid_utf8_without_nul() -> None:
    """What the read model stores (PostgreSQL text) holds no NUL; protobuf holds no surrogate."""
    body = (
        '[{"type":"text","text":"a\\u0000"},{"type":"\\ud83d"},'
        '{"type":"file","mediaType":"image/p\\u0000ng","url":"\\udc00"}]'
    )
    message = imported(message_row(body, role="\x00"))
    for text in strings(message):
        text.encode()
        assert "\x00" not in text
