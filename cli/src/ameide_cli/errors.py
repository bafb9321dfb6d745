"""Turn the failures a user can cause or fix into one readable line (never a traceback)."""

from __future__ import annotations

import re


class CliError(Exception):
    """A failure explained in one line; ``code`` is the process exit status."""

    def __init__(self, message: str, *, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@]*):[^@/]*@", re.IGNORECASE)


def redact(text: str) -> str:
    """Hide passwords in URLs (``postgresql://user:secret@host`` -> ``postgresql://user:***@host``)."""
    return _PASSWORD.sub(r"\g<scheme>\g<user>:***@", text)


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, redacted."""
    for line in str(exc).splitlines():
        if line.strip():
            return redact(line.strip())
    return type(exc).__name__


def explain(exc: BaseException) -> CliError | None:
    """A one-line explanation of the store and network errors a command may hit, else ``None``."""
    import psycopg  # noqa: PLC0415 - only loaded when explaining an error
    import redis.exceptions  # noqa: PLC0415
    import sqlalchemy.exc  # noqa: PLC0415

    from ameide_cli.embedded import EmbeddedServerError  # noqa: PLC0415
    from ameide_eventstore.errors import TransientStoreError  # noqa: PLC0415

    if isinstance(exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, psycopg.OperationalError)):
        return CliError(f"cannot reach PostgreSQL (check AMEIDE_DATABASE_URL): {first_line(exc.__cause__ or exc)}")
    if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return CliError(f"cannot reach Redis (check AMEIDE_REDIS_URL): {first_line(exc)}")
    if isinstance(exc, EmbeddedServerError):
        return CliError(first_line(exc))
    if isinstance(exc, TransientStoreError):
        return CliError(f"the database is unavailable: {first_line(exc)}")
    if isinstance(exc, OSError):
        return CliError(first_line(exc))
    return None
