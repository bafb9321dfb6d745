"""``ameide import-legacy`` into the running stack, verified through the query service over gRPC."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art_svc
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2_grpc as art_grpc
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat_svc
from ameide_core_proto.threads.v1 import threads_service_pb2_grpc as chat_grpc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2
from tests.integration.legacy.legacy_data import Expected, build
from tests.support import servers
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e
TENANT = f"legacy-e2e-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module", name="legacy_db")
def fixture_legacy_db(postgres_server_url: str) -> Iterator[tuple[str, Expected]]:
    """A legacy database of its own (another seed than the integration tests')."""
    with servers.fresh_database(postgres_server_url, f"legacy_e2e_{uuid.uuid4().hex[:10]}") as url:
        libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
        yield libpq, build(libpq, seed=7, chats=80)


def run_cli(stack: Stack, source: str, database_url: str, report: Path, *extra: str) -> int:
    """The real command, as an operator runs it: a subprocess verifying through the query service."""
    command = [
        sys.executable, "-m", "ameide_cli", "import-legacy", "--source", source, "--tenant", TENANT,
        "--database-url", database_url.replace("postgresql+psycopg://", "postgresql://", 1),
        "--query-target", stack.query_target, "--jwt-secret", stack.jwt_secret, "--quiet", "--report", str(report),
        *extra,
    ]  # fmt: skip
    return subprocess.run(command, check=False, timeout=600).returncode  # noqa: S603 - our own command


@pytest.fixture(scope="module", name="imported")
def fixture_imported(
    stack: Stack, legacy_db: tuple[str, Expected], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One import into the stack's store, verified through the query service."""
    report = tmp_path_factory.mktemp("legacy-e2e") / "report.json"
    assert run_cli(stack, legacy_db[0], database_url, report) == 0
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def test_query_service_returns_every_imported_record(imported: dict[str, Any], legacy_db: tuple[str, Expected]) -> None:
    """Every chat, message, document version, suggestion and relation reads back identical through gRPC."""
    verification = imported["verification"]
    assert verification["through"].startswith("the query service")
    assert verification["differences"] == 0
    checks = verification["checks"]
    expected = legacy_db[1]
    assert checks["chats"]["equal"] == len(expected.chats)
    assert checks["messages"]["equal"] == len(expected.messages)
    assert checks["suggestions"]["equal"] == len(expected.suggestions)
    assert checks["relations"]["equal"] == len(expected.links)
    versions = sum(len(rows) for key, rows in expected.documents.items() if key != expected.colliding_document)
    assert checks["document versions"]["equal"] == versions


def test_relations_read_from_both_sides(
    imported: dict[str, Any], stack: Stack, legacy_db: tuple[str, Expected]
) -> None:
    """A document created by a tool call names its chat as primary, and the chat lists the document."""
    del imported
    (chat_id, document_id), relation = next(iter(sorted(legacy_db[1].links.items(), key=str)))
    owner = str(legacy_db[1].chats[chat_id]["owner"])
    with grpc.insecure_channel(stack.query_target) as channel:
        metadata = stack.metadata(owner, TENANT)
        artifacts = art_grpc.ArtifactQueryServiceStub(channel)
        view = artifacts.GetArtifact(
            art_svc.GetArtifactRequest(artifact_id=str(document_id), include_chats=True), metadata=metadata
        ).artifact
        assert {ref.threads_id: ref.relation_type for ref in view.threads_refs}[str(chat_id)] == relation
        chats = chat_grpc.ChatQueryServiceStub(channel)
        linked = chats.GetChatArtifacts(chat_svc.GetChatArtifactsRequest(threads_id=str(chat_id)), metadata=metadata)
        assert str(document_id) in {ref.artifact_id for ref in linked.artifacts}


def test_commands_work_on_imported_chats(
    imported: dict[str, Any], stack: Stack, legacy_db: tuple[str, Expected]
) -> None:
    """The command side loads an imported chat's snapshot: a new message follows the imported ones."""
    del imported
    chat_id, facts = next((key, value) for key, value in legacy_db[1].chats.items() if value["visibility"] == "private")
    count = sum(1 for message in legacy_db[1].messages.values() if message["chat"] == chat_id)
    with grpc.insecure_channel(stack.command_target) as channel:
        commands = chat_grpc.ChatCommandServiceStub(channel)
        message = types_pb2.ChatMessageInput(
            role="user", parts=[types_pb2.MessagePart(text=types_pb2.TextPart(text="hi"))]
        )
        sent = commands.SendMessage(
            chat_svc.SendMessageRequest(threads_id=str(chat_id), message=message),
            metadata=stack.metadata(str(facts["owner"]), TENANT),
        )
    assert sent.message.sequence == count + 1


def test_a_second_run_changes_nothing(
    imported: dict[str, Any], stack: Stack, legacy_db: tuple[str, Expected], database_url: str, tmp_path: Path
) -> None:
    """Re-running appends no event; verification still matches (new messages sent since are not legacy rows)."""
    report = tmp_path / "again.json"
    assert run_cli(stack, legacy_db[0], database_url, report) == 0
    again = json.loads(report.read_text())
    assert all(stats["appended"] == 0 for stats in again["tables"].values())
    assert again["tables"]["Chat"]["imported"] == imported["tables"]["Chat"]["imported"]
    assert again["verification"]["differences"] == 0
