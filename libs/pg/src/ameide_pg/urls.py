"""Database URLs: the configured one, as SQLAlchemy (psycopg 3 driver) and as libpq want it."""

from __future__ import annotations

from sqlalchemy.engine import URL

SQLALCHEMY_SCHEME = "postgresql+psycopg://"
_ACCEPTED = (SQLALCHEMY_SCHEME, "postgresql://", "postgres://")


def sqlalchemy_url(url: str) -> str:
    """Accept ``postgres://`` / ``postgresql://`` / ``postgresql+psycopg://`` and use the psycopg 3 driver."""
    for prefix in _ACCEPTED:
        if url.startswith(prefix):
            return SQLALCHEMY_SCHEME + url[len(prefix) :]
    raise ValueError("must start with postgresql://")


def libpq_url(url: str | URL) -> str:
    """A libpq URL (``postgresql://``) from an SQLAlchemy one; everything after the scheme, password included, kept."""
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    if text.startswith(SQLALCHEMY_SCHEME):
        return "postgresql://" + text[len(SQLALCHEMY_SCHEME) :]
    return text
