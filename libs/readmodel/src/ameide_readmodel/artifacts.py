"""Artifacts: ``rm_artifacts`` (now), ``rm_artifact_versions`` (readable past versions), ``rm_artifact_history``."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from ameide_readmodel.base import TIMESTAMP, metadata

rm_artifacts = sa.Table(
    "rm_artifacts",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("labels", pg.JSONB, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("mime", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("primary_chat_id", pg.UUID(as_uuid=True), nullable=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    # ListArtifacts: a tenant's live artifacts, most recently updated first.
    sa.Index(
        "rm_artifacts_tenant_updated_idx",
        "tenant_id",
        sa.text("updated_at DESC"),
        sa.text("id DESC"),
        postgresql_where=sa.text("NOT deleted"),
    ),
)


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    """A row of ``rm_artifacts``; ``body`` is ``None`` when it was not read (it can be 4 MiB) or did not change."""

    id: uuid.UUID
    tenant_id: str
    owner: str
    title: str
    kind: str
    labels: Mapping[str, str]
    version: int
    mime: str
    body: bytes | None
    primary_chat_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted: bool


# The artifact as of each version that changed content or metadata. mime/body are NULL when that version left the
# content unchanged, so a metadata edit never copies a 4 MiB body.
rm_artifact_versions = sa.Table(
    "rm_artifact_versions",
    metadata,
    sa.Column("artifact_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("version", sa.BigInteger, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("labels", pg.JSONB, nullable=False),
    sa.Column("mime", sa.Text, nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=True),
    sa.Column("changed_at", TIMESTAMP, nullable=False),
)


@dataclass(frozen=True, slots=True)
class ArtifactVersionRow:
    """A row of ``rm_artifact_versions``; ``mime``/``body`` are ``None`` when this version kept the content."""

    artifact_id: uuid.UUID
    version: int
    tenant_id: str
    title: str
    labels: Mapping[str, str]
    mime: str | None
    body: bytes | None
    changed_at: dt.datetime


# One entry per artifact-stream event, keyed by the stream version it produced.
rm_artifact_history = sa.Table(
    "rm_artifact_history",
    metadata,
    sa.Column("artifact_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("version", sa.BigInteger, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("occurred_at", TIMESTAMP, nullable=False),
    sa.Column("user_id", sa.Text, nullable=False),
    sa.Column("chat_id", pg.UUID(as_uuid=True), nullable=True),
    sa.Column("metadata", pg.JSONB, nullable=False),
)


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """A row of ``rm_artifact_history``."""

    artifact_id: uuid.UUID
    version: int
    tenant_id: str
    event_id: uuid.UUID
    event_type: str
    occurred_at: dt.datetime
    user_id: str
    chat_id: uuid.UUID | None
    metadata: Mapping[str, str]
