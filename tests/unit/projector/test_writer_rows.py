import dataclasses

import pytest

from ameide_readmodel.artifacts import ArtifactRow, rm_artifacts
from ameide_readmodel.chats import ChatRow, rm_chats

pytestmark = pytest.mark.unit


def test_loaded_chat_rows_map_positionally_onto_chat_row() -> None:
    """The writer builds a ChatRow from a loaded rm_chats row by position: columns and fields share one order."""
    assert [c.name for c in rm_chats.c] == [f.name for f in dataclasses.fields(ChatRow)]


def test_loaded_artifact_rows_cover_artifact_row() -> None:
    """Every ArtifactRow field is an rm_artifacts column (the writer builds rows by column name)."""
    assert {f.name for f in dataclasses.fields(ArtifactRow)} == {c.name for c in rm_artifacts.c}
