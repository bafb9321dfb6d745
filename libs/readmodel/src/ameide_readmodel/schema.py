"""The read model as a whole: every table's ``MetaData``, the applied stream versions, and what a rebuild creates.

Migration 0002 (and later ones) create the same tables by hand in ``public``; the rebuild creates them from these
objects in a fresh schema (blue/green), and a test checks both shapes stay identical.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from ameide_readmodel.artifacts import rm_artifact_history, rm_artifact_versions, rm_artifacts
from ameide_readmodel.base import metadata
from ameide_readmodel.chats import rm_chat_search, rm_chats, rm_messages
from ameide_readmodel.links import rm_chat_artifacts

__all__ = ["REBUILT_TABLES", "metadata", "rm_stream_versions"]

# Highest stream version applied per stream: the projector's idempotency guard and what read-your-writes waits on.
rm_stream_versions = sa.Table(
    "rm_stream_versions",
    metadata,
    sa.Column("stream_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
)

# What the rebuild builds and swaps, in creation order.
REBUILT_TABLES: tuple[sa.Table, ...] = (
    rm_stream_versions,
    rm_chats,
    rm_chat_search,
    rm_messages,
    rm_artifacts,
    rm_artifact_versions,
    rm_chat_artifacts,
    rm_artifact_history,
)
