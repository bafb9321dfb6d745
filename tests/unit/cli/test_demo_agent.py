"""The demo agent's template and bookkeeping (the streaming itself runs against the services in the e2e tests)."""

from __future__ import annotations

import uuid

import pytest

from ameide_cli import demo_agent
from ameide_cli.demo import bpmn
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_types_pb2 as types

pytestmark = pytest.mark.unit


def test_the_reply_is_about_the_artifact_and_the_question() -> None:
    """Title, kind, version and the diagram's tasks by name; the question quoted."""
    diagram = art_types.ArtifactView(
        id=str(uuid.uuid4()), title="Order Process", kind="bpmn", version=3,
        content=art_types.ArtifactContent(body=bpmn(with_approval=True)),
    )  # fmt: skip
    text = demo_agent.reply("Walk me\n through it", diagram)
    assert "Order Process" in text
    assert "bpmn, version 3" in text
    assert "2 task(s), Approve order, Ship order" in text
    assert "Walk me through it" in text
    assert "no artifact linked" in demo_agent.reply("hi", None)


def test_deltas_are_a_few_words_and_rejoin_to_the_reply() -> None:
    """Nothing lost or added between the pieces."""
    text = demo_agent.reply("question", None)
    pieces = demo_agent.pieces(text)
    assert "".join(pieces) == text
    assert all(len(piece.split()) <= demo_agent.WORDS_PER_DELTA for piece in pieces)
    assert len(pieces) > 5


def test_the_draft_of_a_message_is_the_same_after_a_restart() -> None:
    """A restarted agent answering again uses the same draft id, so its completion stores nothing twice."""
    assert demo_agent.draft_id_for("m-1") == demo_agent.draft_id_for("m-1") != demo_agent.draft_id_for("m-2")
    uuid.UUID(demo_agent.draft_id_for("m-1"))


def test_it_owes_the_user_messages_after_its_last_answer() -> None:
    """Newest first in, oldest first out, stopping at the newest assistant message."""

    def message(role: str, sequence: int) -> types.ChatMessage:
        return types.ChatMessage(id=f"m{sequence}", role=role, sequence=sequence)

    newest_first = [message("user", 5), message("system", 4), message("user", 3), message("assistant", 2),
                    message("user", 1)]  # fmt: skip
    assert [m.sequence for m in demo_agent.unanswered(newest_first)] == [3, 5]
    assert demo_agent.unanswered([]) == []
