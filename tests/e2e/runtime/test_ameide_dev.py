"""``ameide dev``, the README's first command: embedded servers, services, web app and gateway, clean Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import grpc.aio
import pytest

from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc
from tests.support import grpc_web
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(name="data_dir")
def fixture_data_dir() -> Iterator[Path]:
    """A data directory outside pytest's 0700 temp root (embedded PostgreSQL runs as another user under root)."""
    with tempfile.TemporaryDirectory(prefix="ameide-dev-test-") as path:
        yield Path(path)


def _dev(data_dir: Path, ports: list[int], log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMEIDE_")}
    argv = [sys.executable, "-m", "ameide_cli", "dev", "--data-dir", str(data_dir)]
    argv += ["--command-port", str(ports[0]), "--query-port", str(ports[1]), "--projector-port", str(ports[2])]
    argv += ["--web-port", str(ports[3])]
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 180
    while text not in (content := log.read_text(errors="replace")):
        assert process.poll() is None, content
        assert time.monotonic() < deadline, content
        time.sleep(0.2)
    return content


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url) as reply:  # noqa: S310 - a local http URL
        return bytes(reply.read())


def _token(banner: str) -> str:
    lines = banner.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("Dev token"))
    return lines[index + 1].strip()


async def test_dev_serves_and_stops_cleanly(data_dir: Path, tmp_path: Path) -> None:
    """The printed token works for CreateChat then GetChat; the web port serves app, /dev/token and gRPC-Web.

    A second run is refused; SIGINT stops all five children with 0.
    """
    ports = [free_port(), free_port(), free_port(), free_port()]
    log = tmp_path / "dev.log"
    process = _dev(data_dir, ports, log)
    try:
        banner = _wait_for(log, "Ameide Threads is running", process)
        auth = (("authorization", f"Bearer {_token(banner)}"),)
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{ports[0]}") as command_channel,
            grpc.aio.insecure_channel(f"127.0.0.1:{ports[1]}") as query_channel,
        ):
            created = await threads_service_pb2_grpc.ChatCommandServiceStub(command_channel).CreateChat(
                threads_service_pb2.CreateChatRequest(title="from ameide dev"), metadata=auth
            )
            read = await threads_service_pb2_grpc.ChatQueryServiceStub(query_channel).GetChat(
                threads_service_pb2.GetChatRequest(
                    threads_id=created.threads.id, consistency_token=created.consistency_token
                ),
                metadata=auth,
            )
        assert read.threads.title == "from ameide dev"

        web = f"http://127.0.0.1:{ports[3]}"
        assert f"web app           {web}/" in banner
        assert b'<div id="root">' in await asyncio.to_thread(_get, f"{web}/artifact/{created.threads.id}")
        browser_token = json.loads(await asyncio.to_thread(_get, f"{web}/dev/token"))["token"]
        listed = grpc_web.call(
            web,
            "/ameide_core_proto.threads.v1.ChatQueryService/ListChats",
            threads_service_pb2.ListChatsRequest(consistency_token=created.consistency_token),
            token=browser_token,
        )
        assert listed.grpc_status == 0, listed
        chats = listed.decode(threads_service_pb2.ListChatsResponse)[0].threads
        assert created.threads.id in {chat.id for chat in chats}

        second_log = tmp_path / "second.log"
        second = _dev(data_dir, [free_port(), free_port(), free_port(), free_port()], second_log)
        assert second.wait(timeout=120) == 1
        assert "already running" in second_log.read_text()
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=120)
    output = log.read_text(errors="replace")
    assert code == 0, output
    assert output.rstrip().endswith("stopped")
    assert output.count("stopped (code 0)") == 5


def test_a_taken_web_port_names_its_flag(data_dir: Path, tmp_path: Path) -> None:
    """Something already listening on the web port: one line naming --web-port, exit 1, nothing started."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        log = tmp_path / "dev.log"
        process = _dev(data_dir, [free_port(), free_port(), free_port(), busy], log)
        code = process.wait(timeout=120)
    output = log.read_text(errors="replace")
    assert code == 1, output
    assert f"web port {busy} in use" in output
    assert "--web-port" in output
    assert "started" not in output
