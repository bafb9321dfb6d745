"""Chat <-> artifact links: ``rm_chat_artifacts``, written idempotently from either stream's event."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from ameide_readmodel.base import TIMESTAMP, metadata

# Whichever shard gets there first writes the link; the earliest link wins.
rm_chat_artifacts = sa.Table(
    "rm_chat_artifacts",
    metadata,
    sa.Column("chat_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("artifact_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("relation_type", sa.SmallInteger, nullable=False),
    sa.Column("linked_at", TIMESTAMP, nullable=False),
    sa.Column("linked_by", sa.Text, nullable=False),
    sa.Index("rm_chat_artifacts_chat_idx", "chat_id", sa.text("linked_at DESC"), sa.text("artifact_id DESC")),
    sa.Index("rm_chat_artifacts_artifact_idx", "artifact_id", sa.text("linked_at DESC"), sa.text("chat_id DESC")),
)


@dataclass(frozen=True, slots=True)
class LinkRow:
    """A row of ``rm_chat_artifacts``."""

    chat_id: uuid.UUID
    artifact_id: uuid.UUID
    tenant_id: str
    relation_type: int
    linked_at: dt.datetime
    linked_by: str
