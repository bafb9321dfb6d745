"""``ameide migrate``: bring the database schema to the latest revision (idempotent, safe from many pods)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from ameide_cli.commands import Subparsers
from ameide_pg.urls import sqlalchemy_url
from ameide_runtime.settings import SettingsError


def register(subparsers: Subparsers) -> None:
    """Add the ``migrate`` subcommand."""
    parser = subparsers.add_parser("migrate", help="apply database migrations (AMEIDE_DATABASE_URL)")
    parser.add_argument("--revision", default="head", help="target revision (default: head)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Entry point of ``ameide migrate``."""
    from ameide_migrations import upgrade  # noqa: PLC0415 - Alembic is only loaded by this command

    # Only the database matters here: migrating must not require the services' auth settings.
    raw = environ.get("AMEIDE_DATABASE_URL", "")
    if not raw:
        raise SettingsError("AMEIDE_DATABASE_URL: required (postgresql://user@host:5432/db)")
    try:
        url = sqlalchemy_url(raw)
    except ValueError as exc:
        raise SettingsError(f"AMEIDE_DATABASE_URL: {exc}") from exc
    upgrade(url, args.revision)
    print(f"database migrated to {args.revision}")
    return 0
