"""One Alembic migration history for the event-store and read-model tables.

Revisions are numbered files in ``versions/``: 0001 event store, 0002 read model, 0003+ later additions.
``upgrade`` is what ``ameide migrate`` and the test fixtures run.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

_HERE = Path(__file__).resolve().parent

# Any fixed 64-bit number works; it only has to be the same for every process that migrates.
MIGRATION_LOCK_ID = 0x616D6569_64650001


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at this package's scripts and the given database."""
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    # ConfigParser interpolates "%": escape it (passwords may contain it).
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate to ``revision``: idempotent, and safe from several processes at once (advisory lock)."""
    command.upgrade(alembic_config(database_url), revision)


def current_heads() -> tuple[str, ...]:
    """The head revision(s) of the history (one, unless someone branched it)."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - only needed by this helper

    return tuple(ScriptDirectory.from_config(alembic_config("postgresql+psycopg://unused")).get_heads())
