"""Every read-model row type is its table's stored columns, in column order: nothing can be left out of either."""

import dataclasses

import pytest
import sqlalchemy as sa

from ameide_readmodel.artifacts import (
    ArtifactRow,
    ArtifactVersionRow,
    HistoryRow,
    rm_artifact_history,
    rm_artifact_versions,
    rm_artifacts,
)
from ameide_readmodel.base import select_list
from ameide_readmodel.chats import ChatRow, MessageRow, rm_chats, rm_messages
from ameide_readmodel.links import LinkRow, rm_chat_artifacts

pytestmark = pytest.mark.unit

ROWS: list[tuple[type, sa.Table]] = [
    (ChatRow, rm_chats),
    (MessageRow, rm_messages),
    (ArtifactRow, rm_artifacts),
    (ArtifactVersionRow, rm_artifact_versions),
    (HistoryRow, rm_artifact_history),
    (LinkRow, rm_chat_artifacts),
]


def test_loaded_chat_rows_map_positionally_onto_chat_row() -> None:
    """The writer builds a ChatRow from a loaded rm_chats row by position: columns and fields share one order."""
    assert [c.name for c in rm_chats.c] == [f.name for f in dataclasses.fields(ChatRow)]


def test_loaded_artifact_rows_cover_artifact_row() -> None:
    """Every ArtifactRow field is an rm_artifacts column (the writer builds rows by column name)."""
    assert {f.name for f in dataclasses.fields(ArtifactRow)} == {c.name for c in rm_artifacts.c}


@pytest.mark.parametrize(("row", "table"), ROWS, ids=[table.name for _, table in ROWS])
def test_row_fields_are_the_stored_columns_in_order(row: type, table: sa.Table) -> None:
    """A row type's fields are its table's columns (generated ones aside), in the table's order."""
    stored = [c.name for c in table.c if c.computed is None]
    assert stored == [f.name for f in dataclasses.fields(row)]


def test_select_lists_follow_the_row_order() -> None:
    """What the query service selects for a chat is the row's fields, aliased, in order."""
    assert select_list(rm_chats, "c") == ", ".join(f"c.{f.name}" for f in dataclasses.fields(ChatRow))
    assert "body" not in select_list(rm_artifacts, without=("body",))
