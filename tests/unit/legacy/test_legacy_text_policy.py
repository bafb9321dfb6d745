"""The text policy: what the contract cannot carry is replaced (lone surrogates) or removed (NUL), nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ameide_cli.legacy.text import NULS, REPLACEMENT, SURROGATES, Notes, decode, escape_surrogates, fit

pytestmark = pytest.mark.unit

# Every code point, lone surrogates and NUL included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()))


@pytest.mark.parametrize(
    ("legacy", "fitted"),
    [
        ("Hello \ud83d", "Hello \ufffd"),  # an emoji cut in half
        ("\ude00 at the start", "\ufffd at the start"),
        ("\ud83d\ude00", "\U0001f600"),  # a pair written as two code points is the character, as in JavaScript
        ("\ud83d\ud83d\ude00", "\ufffd\U0001f600"),
        ("a\x00b\x00", "ab"),
        ("\x00\ud800", REPLACEMENT),
    ],
)
def test_what_the_contract_cannot_carry_is_replaced_or_removed(legacy: str, fitted: str) -> None:
    """Lone surrogates become U+FFFD, NUL is removed."""
    assert fit(legacy) == fitted


@pytest.mark.parametrize(
    "kept",
    ["", "plain", "Ünïcode ✓ 😀", "\ufffd", "\uffff\ufdd0\U0010ffff", "\x01\x1f\x7f\u200b\u202e", "tab\tnew\nline"],
)
def test_everything_else_is_kept_as_it_is(kept: str) -> None:
    """Controls other than NUL, noncharacters, private use, bidi marks: valid UTF-8, kept."""
    assert fit(kept) is kept


def test_notes_name_the_field_and_what_was_done() -> None:
    """Each change is noted once per field, in reading order."""
    notes = Notes()
    assert notes.text("title", "a\x00\ud83d") == "a\ufffd"
    assert notes.text("title", "\ud83d") == "\ufffd"
    assert notes.value("parts", {"k\x00": ["x", "\udc00"], "n": 1}) == {"k": ["x", "\ufffd"], "n": 1}
    assert list(notes) == [f"title: {NULS}", f"title: {SURROGATES}", f"parts: {NULS}", f"parts: {SURROGATES}"]
    assert not Notes()


def test_invalid_utf8_from_a_sql_ascii_database_becomes_replacement_characters() -> None:
    """Bytes that are not UTF-8 are read as lone surrogates, which the policy replaces."""
    assert decode("déjà".encode()) == "déjà"
    assert fit(decode(b"caf\xe9 \xff")) == "caf\ufffd \ufffd"
    assert decode("already text") == "already text"


def test_escaping_keeps_every_code_point_in_valid_utf8() -> None:
    """A lone surrogate becomes its JSON escape (how an original is kept)."""
    assert escape_surrogates('"\ud83d"') == '"\\ud83d"'
    assert escape_surrogates("no surrogate") == "no surrogate"


@settings(max_examples=500, derandomize=True)
@given(ANY_TEXT)
def test_fitted_text_is_valid_utf8_without_nul_and_fits_again_unchanged(text: str) -> None:
    """Whatever the legacy text, the result encodes as UTF-8, holds no NUL and is a fixed point."""
    fitted = fit(text)
    fitted.encode()
    assert "\x00" not in fitted
    assert fit(fitted) == fitted
    notes = Notes()
    assert notes.text("f", text) == fitted
    assert bool(notes) == (fitted != text)
