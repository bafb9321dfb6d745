"""SIGTERM on the real query process: readiness NOT_SERVING first, streams end UNAVAILABLE, in-flight unary finishes.

No sleeps decide anything: the in-flight RPC is a ``GetChat`` waiting on a consistency token while the projector is
stopped, so it stays in flight exactly until the test starts the projector again. Meanwhile the test observes the
drain: health NOT_SERVING, the open stream ended with a resumable UNAVAILABLE, a new call still served.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from typing import Any, cast

import grpc
import pytest
from grpc_health.v1 import health_pb2

from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc, threads_types_pb2
from tests.e2e.observability.obs_harness import Deployment, deployment, private_database, wait_for
from tests.support.grpc_status import details_of
from tests.support.stack import health_status

pytestmark = pytest.mark.e2e

QUERIES = "/ameide_core_proto.threads.v1.ChatQueryService"
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING
RESULT_SECONDS = 120.0
DRAIN_ENV = {
    # Far beyond any wait below: the held call must end because the test releases it, never by a timeout.
    "AMEIDE_CONSISTENCY_WAIT_MS": "600000",
    "AMEIDE_SHUTDOWN_GRACE_SECONDS": "300",
}


@pytest.fixture(name="draining")
def fixture_draining(
    postgres_server_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Command, projector and query on a private database, with a long grace period."""
    logs = tmp_path_factory.mktemp("drain-logs")
    with (
        private_database(postgres_server_url) as url,
        deployment(url, redis_url, logs, extra_env=DRAIN_ENV) as deployed,
    ):
        deployed.start_many(["command", "projector", "query"])
        yield deployed


def _message() -> threads_types_pb2.ChatMessageInput:
    part = threads_types_pb2.MessagePart(text=threads_types_pb2.TextPart(text="during shutdown"))
    return threads_types_pb2.ChatMessageInput(role="user", parts=[part])


def _in_flight(deployed: Deployment, method: str) -> float:
    return deployed.metric("query", "ameide_rpc_in_flight", method=f"{QUERIES}/{method}") or 0.0


def test_sigterm_drains_the_query_service(draining: Deployment) -> None:
    """NOT_SERVING during the drain, stream UNAVAILABLE (SHUTTING_DOWN), new calls served, held call OK, exit 0.

    Then the idle command and projector processes stop cleanly on SIGTERM too.
    """
    deployed = draining
    caller = deployed.metadata("owner", f"tenant-{uuid.uuid4()}")
    with grpc.insecure_channel(deployed.command_target) as channel:
        commands = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
        created = commands.CreateChat(threads_service_pb2.CreateChatRequest(title="drain"), metadata=caller)
        chat_id = created.threads.id
        with grpc.insecure_channel(deployed.query_target) as query_channel:
            queries = threads_service_pb2_grpc.ChatQueryServiceStub(query_channel)
            loaded = queries.GetChat(
                threads_service_pb2.GetChatRequest(threads_id=chat_id, consistency_token=created.consistency_token),
                metadata=caller,
            )
            stream = queries.StreamChatUpdates(
                threads_service_pb2.StreamChatRequest(threads_id=chat_id, resume_token=loaded.checkpoint_token),
                metadata=caller,
            )
            assert next(stream).WhichOneof("update") == "control"
            wait_for(lambda: _in_flight(deployed, "StreamChatUpdates") == 1, "the stream to be open server-side")

            # Nothing projects the next write: a GetChat waiting for it stays in flight until the projector is back.
            assert deployed.stop("projector") == 0
            sent = commands.SendMessage(
                threads_service_pb2.SendMessageRequest(threads_id=chat_id, message=_message()), metadata=caller
            )
            held = queries.GetChat.future(
                threads_service_pb2.GetChatRequest(threads_id=chat_id, consistency_token=sent.consistency_token),
                metadata=caller,
            )
            wait_for(lambda: _in_flight(deployed, "GetChat") == 1, "the GetChat to be in flight")

            deployed.signal("query", signal.SIGTERM)
            wait_for(lambda: health_status(deployed.query_target) == NOT_SERVING, "health NOT_SERVING")

            with pytest.raises(grpc.RpcError) as ended:
                for _ in stream:
                    pass
            details = details_of(cast("Any", ended.value))
            assert (details.code, details.reason) == (grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN")
            assert details.retry_after_ms is not None

            # Still draining: the server accepts calls (a balancer may route a few more) and says NOT_SERVING.
            again = queries.GetChat(threads_service_pb2.GetChatRequest(threads_id=chat_id), metadata=caller)
            assert again.threads.id == chat_id
            assert not held.done()
            assert health_status(deployed.query_target) == NOT_SERVING

            deployed.start("projector")
            reply = held.result(timeout=RESULT_SECONDS)
    assert reply.threads.id == chat_id
    assert deployed.wait_exit("query") == 0
    assert "still running after the grace period" not in deployed.logs("query")

    # Idle processes drain at once: command and the restarted projector exit 0 and stop listening.
    for name in ("command", "projector"):
        assert health_status(deployed.target(name)) == SERVING
        deployed.signal(name, signal.SIGTERM)
        assert deployed.wait_exit(name) == 0
        assert health_status(deployed.target(name)) is None
