"""Scenario 6b: hostile bytes at the HTTP/2 level (raw sockets) against command, query and projector ports.

Garbage, HTTP/1.1, TLS on a plaintext port, malformed and oversized frames, broken HPACK, wrong content types, a
lying gRPC length prefix, PING/SETTINGS floods, rapid reset, idle half-open connections: no process dies, each
keeps answering health SERVING, and a real RPC still works afterwards.
"""

from __future__ import annotations

import contextlib
import socket

import pytest
from grpc_health.v1 import health_pb2

from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from tests.reliability.rel_client import Code, Tally, new_tenant
from tests.reliability.rel_fleet import Fleet
from tests.reliability.rel_h2 import PREFACE, hostile
from tests.reliability.rel_probe import Prober
from tests.reliability.rel_report import record
from tests.support.stack import health_status

pytestmark = pytest.mark.reliability

PATHS = {
    "command": "/ameide_core_proto.threads.v1.ChatCommandService/CreateChat",
    "query": "/ameide_core_proto.threads.v1.ChatQueryService/ListChats",
    "projector": "/grpc.health.v1.Health/Check",
}
TALLY = Tally()


def _send(port: int, payload: bytes) -> None:
    """Send ``payload`` on a fresh connection, give the server a moment to react, hang up."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock, contextlib.suppress(OSError):
        sock.sendall(payload)
        sock.settimeout(0.2)
        sock.recv(65536)


def _serving(fleet: Fleet, name: str) -> bool:
    return fleet.running(name) and health_status(fleet.target(name)) == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("name", ["command", "query", "projector"])
def test_hostile_bytes_do_not_hurt_a_deployable(fleet: Fleet, name: str) -> None:
    """Every hostile sequence on a fresh connection; the process lives and answers health after each."""
    port = fleet.ports[name]
    failures = []
    for label, payload in hostile(PATHS[name], f"127.0.0.1:{port}", seed=606).items():
        _send(port, payload)
        TALLY.requests += 1
        TALLY.codes["raw"] += 1
        if not _serving(fleet, name):
            failures.append(f"{name} after {label!r}")
            TALLY.wrong.append(f"{name} not serving after {label!r}")
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(200)]
    for index, sock in enumerate(idle):
        with contextlib.suppress(OSError):
            sock.sendall(PREFACE[: index % len(PREFACE)])  # half a preface, then silence
    healthy_while_held = _serving(fleet, name)
    for sock in idle:
        sock.close()
    assert failures == []
    assert healthy_while_held, f"{name} stopped answering while 200 half-open connections were held"
    assert fleet.crashed() == {}


def test_a_real_call_still_works_after_the_abuse(fleet: Fleet) -> None:
    """After all of it, an ordinary client is served normally."""
    (who,) = new_tenant(fleet, "after-abuse")
    prober = Prober(fleet, TALLY)
    try:
        created = prober.expect(
            "CreateChat", chat.CreateChatRequest(title="still fine"), who.metadata, {Code.OK}, "after"
        )
        listed = prober.expect(
            "ListChats",
            chat.ListChatsRequest(consistency_token=created.reply.consistency_token),
            who.metadata,
            {Code.OK},
            "after",
        )
    finally:
        prober.close()
    record(
        "6b raw HTTP/2 abuse (3 ports)",
        load=f"{len(hostile('/x', 'h', 0))} hostile byte sequences per port + 200 half-open connections",
        faults="malformed frames, floods, rapid reset, wrong content types, HTTP/1.1, TLS",
        tally=TALLY,
        verdict=None,
        notes="every process alive and SERVING after each sequence",
    )
    assert [c.title for c in listed.reply.threads] == ["still fine"]
    assert TALLY.wrong == []
