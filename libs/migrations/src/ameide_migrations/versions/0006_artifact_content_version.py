"""An artifact's version counts content and metadata changes only, no longer every event of its stream.

Links, unlinks, annotations and deletion used to bump ``rm_artifacts.version`` and key ``rm_artifact_versions`` by
the stream version, so starting a chat about an artifact failed an editor's ``expected_version`` and past versions
had gaps. ``rm_artifact_versions`` holds exactly one row per creation, content or metadata change, so renumbering
its rows 1..n per artifact (oldest first) gives each the new version, and the artifact's version is its newest.
Rows pass through negative numbers so no renumbered key collides with one not yet renumbered. The history keeps its
stream-version keys (the query side derives each entry's artifact version).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_VERSIONED = "event_type IN ('created', 'modified', 'metadata_changed')"

_TO_CONTENT = """
WITH ranked AS (
    SELECT artifact_id, version, row_number() OVER (PARTITION BY artifact_id ORDER BY version) AS n
    FROM rm_artifact_versions
)
UPDATE rm_artifact_versions AS v SET version = -r.n FROM ranked AS r
WHERE v.artifact_id = r.artifact_id AND v.version = r.version
"""

# Back: the n-th versioned history entry carries the stream version the n-th row had.
_TO_STREAM = f"""
WITH ranked AS (
    SELECT artifact_id, version, row_number() OVER (PARTITION BY artifact_id ORDER BY version) AS n
    FROM rm_artifact_history WHERE {_VERSIONED}
)
UPDATE rm_artifact_versions AS v SET version = -r.version FROM ranked AS r
WHERE v.artifact_id = r.artifact_id AND v.version = r.n
"""  # noqa: S608 - constant fragments

_FLIP = "UPDATE rm_artifact_versions SET version = -version WHERE version < 0"

_CURRENT_CONTENT = """
UPDATE rm_artifacts AS a SET version = c.n
FROM (SELECT artifact_id, max(version) AS n FROM rm_artifact_versions GROUP BY artifact_id) AS c
WHERE a.id = c.artifact_id
"""

_CURRENT_STREAM = """
UPDATE rm_artifacts AS a SET version = c.n
FROM (SELECT artifact_id, max(version) AS n FROM rm_artifact_history GROUP BY artifact_id) AS c
WHERE a.id = c.artifact_id
"""


def upgrade() -> None:
    op.execute(_TO_CONTENT)
    op.execute(_FLIP)
    op.execute(_CURRENT_CONTENT)


def downgrade() -> None:
    op.execute(_TO_STREAM)
    op.execute(_FLIP)
    op.execute(_CURRENT_STREAM)
