"""Migration 0006 renumbers an existing read model's artifact versions (stream versions -> content versions)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic import command

from ameide_migrations import alembic_config, upgrade
from tests.support import servers

pytestmark = pytest.mark.integration

ARTIFACT = uuid.uuid4()
# Stream versions: 1 created, 2 linked, 3 content, 4 annotated, 5 metadata, 6 unlinked.
HISTORY = ["created", "threads_linked", "modified", "annotated", "metadata_changed", "threads_unlinked"]
VERSION_ROWS = [(1, "v1"), (3, "v3"), (5, None)]


@pytest.fixture(name="old_model")
def fixture_old_model(postgres_server_url: str) -> Iterator[str]:
    """A database at 0005 holding one artifact projected with stream versions."""
    with servers.fresh_database(postgres_server_url, f"ameide_m6_{uuid.uuid4().hex[:12]}") as url:
        upgrade(url, "0005")
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            conn.execute(
                "INSERT INTO rm_artifacts (id, tenant_id, owner, title, kind, labels, version, mime, body, "
                "created_at, updated_at, deleted) VALUES (%s, 't', 'o', 'T', 'text', '{}', 6, 'text/plain', "
                "'v3', now(), now(), false)",
                (ARTIFACT,),
            )
            for version, body in VERSION_ROWS:
                conn.execute(
                    "INSERT INTO rm_artifact_versions (artifact_id, version, tenant_id, title, labels, mime, body, "
                    "changed_at) VALUES (%s, %s, 't', 'T', '{}', %s, %s, now())",
                    (ARTIFACT, version, "text/plain" if body else None, body.encode() if body else None),
                )
            for version, kind in enumerate(HISTORY, start=1):
                conn.execute(
                    "INSERT INTO rm_artifact_history (artifact_id, version, tenant_id, event_id, event_type, "
                    "occurred_at, user_id, metadata) VALUES (%s, %s, 't', %s, %s, now(), 'o', '{}')",
                    (ARTIFACT, version, uuid.uuid4(), kind),
                )
        yield url


def _versions(url: str) -> tuple[int, list[tuple[int, bytes | None]]]:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        current = conn.execute("SELECT version FROM rm_artifacts WHERE id = %s", (ARTIFACT,)).fetchone()
        rows = conn.execute(
            "SELECT version, body FROM rm_artifact_versions WHERE artifact_id = %s ORDER BY version", (ARTIFACT,)
        ).fetchall()
    assert current is not None
    return int(current[0]), [(int(v), bytes(b) if b is not None else None) for v, b in rows]


def test_upgrade_renumbers_and_downgrade_restores(old_model: str) -> None:
    """Versions become 1..n without gaps; downgrading gives the stream versions back."""
    upgrade(old_model, "0006")
    assert _versions(old_model) == (3, [(1, b"v1"), (2, b"v3"), (3, None)])
    command.downgrade(alembic_config(old_model), "0005")
    assert _versions(old_model) == (6, [(1, b"v1"), (3, b"v3"), (5, None)])
