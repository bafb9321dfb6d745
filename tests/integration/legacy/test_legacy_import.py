"""``ameide import-legacy`` against a real legacy database and a real event store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ameide_command.domain import artifact, chat, events, snapshot
from ameide_command.domain.model import Happened
from ameide_core_proto.threads.v1 import threads_events_pb2 as chat_events
from tests.integration.legacy.legacy_data import Expected
from tests.integration.legacy.legacy_run import TENANT, run_import, stored, tables

pytestmark = pytest.mark.integration


class TestFullImport:
    """A first import of the whole legacy database."""

    @pytest.fixture(scope="class", name="imported")
    @classmethod
    def fixture_imported(
        cls, legacy: tuple[str, Expected], fresh_store_cls: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
    ) -> tuple[str, dict[str, Any], int]:
        """One import into a fresh store, shared by the class's tests."""
        target = fresh_store_cls()
        status, report = run_import(legacy[0], target, tmp_path_factory.mktemp("full"))
        return target, report, status

    def test_every_row_is_accounted_for(
        self, imported: tuple[str, dict[str, Any], int], legacy: tuple[str, Expected]
    ) -> None:
        """Each legacy row is imported or skipped with its reason; nothing fails; the exit status is 0."""
        _, report, status = imported
        expected = legacy[1]
        got = tables(report)
        assert status == 0
        assert got["Chat"]["imported"] == len(expected.chats)
        messages = got["Message_v2"]["imported"] + got["Message"]["imported"]
        assert messages == len(expected.messages)
        assert got["Message_v2"]["skipped"] == {"chat does not exist": len(expected.orphan_messages)}
        assert got["Message"]["skipped"] == {
            "chat migrated to Message_v2: older-format row superseded": len(expected.superseded_messages)
        }
        versions = sum(len(rows) for rows in expected.documents.values())
        assert got["Document"]["read"] == versions
        assert got["Document"]["skipped"] == {"document id is also a chat id (one stream per id)": 1}
        assert got["Suggestion"]["imported"] == len(expected.suggestions)
        assert got["Suggestion"]["skipped"] == {"document does not exist": len(expected.orphan_suggestions)}
        assert got["links (chat side)"]["imported"] == len(expected.links)
        assert got["links (artifact side)"]["imported"] == len(expected.links)
        assert sum(got["Vote_v2"]["skipped"].values()) + sum(got["Vote"]["skipped"].values()) == expected.votes
        assert sum(got["Stream"]["skipped"].values()) == expected.streams
        for name, stats in got.items():
            assert stats["failed"] == {}, name
            assert stats["read"] == stats["imported"] + sum(stats["skipped"].values()), name

    def test_verification_finds_every_record_identical(
        self, imported: tuple[str, dict[str, Any], int], legacy: tuple[str, Expected]
    ) -> None:
        """The checksum comparison covers every message, version, suggestion and relation, with no difference."""
        _, report, _ = imported
        checks = report["verification"]["checks"]
        assert report["verification"]["differences"] == 0
        assert checks["messages"]["compared"] == len(legacy[1].messages)
        assert checks["relations"]["compared"] == len(legacy[1].links)
        assert checks["suggestions"]["compared"] == len(legacy[1].suggestions)
        for check in checks.values():
            assert check["legacy_sha256"] == check["imported_sha256"]

    def test_relations_and_primary_chats_come_from_tool_calls(
        self, imported: tuple[str, dict[str, Any], int], legacy: tuple[str, Expected]
    ) -> None:
        """Each chat <-> document pair is linked on both streams with its relation; creators are primary chats."""
        target, _, _ = imported
        chat_side: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
        artifact_side: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
        primary: dict[uuid.UUID, str] = {}
        for stream_id, _, _, _, event_type, payload, _, _ in stored(target):
            message = events.decode(event_type, bytes(payload))
            if event_type.endswith("ArtifactAssociatedEvent"):
                chat_side[(stream_id, uuid.UUID(message.artifact_id))] = message.relation_type  # type: ignore[union-attr]
            elif event_type.endswith("ArtifactChatLinkedEvent"):
                artifact_side[(uuid.UUID(message.threads_id), stream_id)] = message.relation_type  # type: ignore[union-attr]
            elif event_type.endswith("ArtifactCreatedEvent"):
                primary[stream_id] = message.primary_threads_id  # type: ignore[union-attr]
        assert chat_side == legacy[1].links
        assert artifact_side == legacy[1].links
        for document_id, chat_id in legacy[1].primary.items():
            assert primary[document_id] == str(chat_id)

    def test_ids_times_and_sequence_are_the_legacy_ones(
        self, imported: tuple[str, dict[str, Any], int], legacy: tuple[str, Expected]
    ) -> None:
        """Messages keep their ids and createdAt, and are numbered 1..n per chat in createdAt order."""
        target, _, _ = imported
        per_chat: dict[uuid.UUID, list[chat_events.MessageSentEvent]] = {}
        for stream_id, _, _, _, event_type, payload, metadata, _ in stored(target):
            if event_type.endswith("MessageSentEvent"):
                sent = chat_events.MessageSentEvent.FromString(bytes(payload))
                assert metadata["occurred_at"] == sent.message.created_at.ToDatetime().isoformat() + "+00:00"
                per_chat.setdefault(stream_id, []).append(sent)
        assert {uuid.UUID(m.message_id) for ms in per_chat.values() for m in ms} == set(legacy[1].messages)
        for chat_messages in per_chat.values():
            assert [m.message.sequence for m in chat_messages] == list(range(1, len(chat_messages) + 1))
            times = [m.message.created_at.ToDatetime() for m in chat_messages]
            assert times == sorted(times)

    def test_snapshots_are_what_the_command_side_computes(self, imported: tuple[str, dict[str, Any], int]) -> None:
        """Each stream's stored snapshot equals the domain's snapshot of a fold over its events."""
        target, _, _ = imported
        folded: dict[uuid.UUID, Any] = {}
        for stream_id, stream_type, _, _, event_type, payload, metadata, _ in stored(target):
            happened = Happened(events.decode(event_type, bytes(payload)), _at(metadata), metadata["user_id"])  # type: ignore[arg-type]
            evolve = chat.evolve if stream_type == "chat" else artifact.evolve
            folded[stream_id] = evolve(folded.get(stream_id), happened)
        with psycopg.connect(target) as conn:
            rows = conn.execute("SELECT stream_id, stream_type, version, state FROM es_streams").fetchall()
        assert len(rows) == len(folded)
        for stream_id, stream_type, version, state in rows:
            dump = snapshot.dump_chat if stream_type == "chat" else snapshot.dump_artifact
            assert bytes(state) == dump(folded[stream_id]), stream_id
            assert folded[stream_id].version == version

    def test_a_rerun_imports_nothing(
        self, imported: tuple[str, dict[str, Any], int], legacy: tuple[str, Expected], tmp_path: Path
    ) -> None:
        """Running again appends no event and reports every row as already imported."""
        target, first, _ = imported
        before = stored(target)
        status, report = run_import(legacy[0], target, tmp_path, "--no-verify")
        assert status == 0
        assert stored(target) == before
        for name, stats in tables(report).items():
            assert stats["appended"] == 0, name
            assert stats["imported"] == tables(first)[name]["imported"], name


def _at(metadata: dict[str, str]) -> Any:
    import datetime as dt  # noqa: PLC0415 - one use

    return dt.datetime.fromisoformat(metadata["occurred_at"])


@pytest.fixture(scope="class", name="fresh_store_cls")
def fixture_fresh_store_cls(postgres_server_url: str) -> Any:
    """A class-scoped variant of ``fresh_store``."""
    from contextlib import ExitStack  # noqa: PLC0415 - fixture-local

    from ameide_migrations import upgrade  # noqa: PLC0415 - only database tests need Alembic
    from tests.integration.legacy.conftest import libpq  # noqa: PLC0415 - shared helper
    from tests.support import servers  # noqa: PLC0415 - shared helper

    with ExitStack() as stack:

        def make() -> str:
            name = f"target_{uuid.uuid4().hex[:10]}"
            url = stack.enter_context(servers.fresh_database(postgres_server_url, name))
            upgrade(url)
            return libpq(url)

        yield make


def test_a_killed_import_resumes_to_the_same_events(
    legacy: tuple[str, Expected], fresh_store: Callable[[], str], tmp_path: Path
) -> None:
    """SIGKILL mid-import, run again: the store ends with exactly the events of an uninterrupted import."""
    reference, interrupted = fresh_store(), fresh_store()
    assert run_import(legacy[0], reference, tmp_path, "--no-verify")[0] == 0
    marker = tmp_path / "paused"
    command = [
        sys.executable,
        "-m",
        "ameide_cli",
        "import-legacy",
        "--source",
        legacy[0],
        "--tenant",
        TENANT,
        "--database-url",
        interrupted,
        "--quiet",
        "--no-verify",
    ]
    env = {**os.environ, "AMEIDE_LEGACY_TEST_PAUSE": f"1000:{marker}"}
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:  # noqa: S603 - our own command
        deadline = time.monotonic() + 120
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), process.stderr.read() if process.stderr else ""
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    partial = len(stored(interrupted))
    assert 1000 <= partial < len(stored(reference))
    status, report = run_import(legacy[0], interrupted, tmp_path)
    assert status == 0
    assert sum(stats["appended"] for stats in tables(report).values()) == len(stored(reference)) - partial
    assert _events(stored(interrupted)) == _events(stored(reference))
    with psycopg.connect(reference) as a, psycopg.connect(interrupted) as b:
        query = "SELECT stream_id, version, state FROM es_streams ORDER BY stream_id"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


def _events(rows: list[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    """Stored events without their global positions (which differ between two stores)."""
    return {(*row[:5], bytes(row[5]), json.dumps(row[6], sort_keys=True)) for row in rows}


def test_a_dry_run_writes_nothing(legacy: tuple[str, Expected], fresh_store: Callable[[], str], tmp_path: Path) -> None:
    """--dry-run maps and counts everything and appends nothing."""
    target = fresh_store()
    status, report = run_import(legacy[0], target, tmp_path, "--dry-run")
    assert status == 0
    assert stored(target) == []
    assert tables(report)["Chat"]["appended"] == len(legacy[1].chats)
    assert report["verification"] == {}
