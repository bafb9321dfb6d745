"""The full-text query: websearch syntax, with prefix matching on the last word (search-as-you-type).

``websearch_to_tsquery`` parses the user's text (quotes, ``or``, ``-``) safely; when the text ends in a plain
word, the last lexeme of the parsed query gets ``:*`` so "plan" also finds "planning". 'simple' config: no
stemming and no stop words, so every language is searched alike.
"""

from __future__ import annotations

# One tsquery from the bind parameters :q (text) and :prefix (bool). Used inside the `q` CTE of the statements.
TSQUERY = (
    "CASE WHEN CAST(:prefix AS boolean) "
    "THEN CAST(regexp_replace(CAST(websearch_to_tsquery('simple', CAST(:q AS text)) AS text), '''$', ''':*') "
    "AS tsquery) "
    "ELSE websearch_to_tsquery('simple', CAST(:q AS text)) END"
)


def wants_prefix(query: str) -> bool:
    """Whether the last word of ``query`` is a plain word still being typed (not a phrase, negation or OR)."""
    stripped = query.rstrip()
    if not stripped or not stripped[-1].isalnum() or stripped.count('"') % 2 == 1:
        return False
    last = stripped.split()[-1]
    return not last.startswith("-") and last.lower() != "or" and not last.endswith('"')


def params(query: str) -> dict[str, object]:
    """Bind parameters of ``TSQUERY``."""
    return {"q": query, "prefix": wants_prefix(query)}
