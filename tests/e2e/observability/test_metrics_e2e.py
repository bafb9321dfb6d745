"""Each deployable's /metrics, scraped from the real processes after real traffic."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest

from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc, threads_types_pb2
from tests.e2e.observability.obs_harness import Deployment, wait_for

pytestmark = pytest.mark.e2e

COMMANDS = "/ameide_core_proto.threads.v1.ChatCommandService"
QUERIES = "/ameide_core_proto.threads.v1.ChatQueryService"
SHARDS = 64


def _message(text: str) -> threads_types_pb2.ChatMessageInput:
    part = threads_types_pb2.MessagePart(text=threads_types_pb2.TextPart(text=text))
    return threads_types_pb2.ChatMessageInput(role="user", parts=[part])


def _chat_with_messages(deployed: Deployment, count: int) -> tuple[str, tuple[tuple[str, str], ...], str]:
    caller = deployed.metadata("owner", f"tenant-{uuid.uuid4()}")
    with grpc.insecure_channel(deployed.command_target) as channel:
        stub = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
        chat = stub.CreateChat(threads_service_pb2.CreateChatRequest(title="metrics"), metadata=caller).threads
        token = ""
        for index in range(count):
            request = threads_service_pb2.SendMessageRequest(threads_id=chat.id, message=_message(f"m{index}"))
            token = stub.SendMessage(request, metadata=caller).consistency_token
    return chat.id, caller, token


def test_command_counts_rpcs_by_method_and_code_and_idempotency_hits(observed: tuple[Deployment, Path]) -> None:
    """RPC counts and latency per method and code; a replayed key counts one idempotency hit."""
    deployed, _ = observed
    before_ok = deployed.metric("command", "ameide_rpc_requests_total", method=f"{COMMANDS}/CreateChat", code="OK")
    before_hits = deployed.metric("command", "ameide_command_idempotency_hits_total") or 0.0
    caller = deployed.metadata("owner", f"tenant-{uuid.uuid4()}")
    request = threads_service_pb2.CreateChatRequest(title="once", idempotency_key=f"key-{uuid.uuid4()}")
    with grpc.insecure_channel(deployed.command_target) as channel:
        stub = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
        first = stub.CreateChat(request, metadata=caller)
        again = stub.CreateChat(request, metadata=caller)
        with pytest.raises(grpc.RpcError) as caught:
            stub.SendMessage(threads_service_pb2.SendMessageRequest(threads_id="nope"), metadata=caller)
    assert first.threads.id == again.threads.id
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    ok = deployed.metric("command", "ameide_rpc_requests_total", method=f"{COMMANDS}/CreateChat", code="OK")
    assert ok == (before_ok or 0.0) + 2
    invalid = {"method": f"{COMMANDS}/SendMessage", "code": "INVALID_ARGUMENT"}
    assert (deployed.metric("command", "ameide_rpc_requests_total", **invalid) or 0.0) >= 1
    assert (deployed.metric("command", "ameide_rpc_duration_seconds_count", **invalid) or 0.0) >= 1
    assert deployed.metric("command", "ameide_command_idempotency_hits_total") == before_hits + 1
    assert deployed.metric("command", "ameide_rpc_in_flight", method=f"{COMMANDS}/CreateChat") == 0


def test_projector_reports_shards_outbox_lag_and_publishes(observed: tuple[Deployment, Path]) -> None:
    """The only projector owns every shard; once projected the sampled outbox is empty; lag and batches observed."""
    deployed, _ = observed
    _chat_with_messages(deployed, 3)
    assert wait_for(lambda: deployed.metric("projector", "ameide_projector_shards_owned") == SHARDS, "all shards")

    def drained() -> bool:
        return (
            deployed.metric("projector", "ameide_outbox_depth") == 0
            and deployed.metric("projector", "ameide_outbox_oldest_age_seconds") == 0
            and (deployed.metric("projector", "ameide_projector_lag_seconds_count") or 0) >= 1
            # Redis publishing runs in the background, after the batch.
            and (deployed.metric("projector", "ameide_feed_published_total") or 0) >= 3
        )

    wait_for(drained, "the sampled outbox to be empty after the writes")
    assert deployed.metric("projector", "ameide_outbox_dead_letters") == 0
    assert (deployed.metric("projector", "ameide_projector_batch_events_count") or 0) >= 1
    assert deployed.metric("projector", "ameide_feed_publish_failures_total") == 0
    assert deployed.metric("projector", "ameide_projector_shards_halted") == 0


def test_query_gauges_live_subscribers(observed: tuple[Deployment, Path]) -> None:
    """An open StreamChatUpdates counts as one live subscriber until it is cancelled."""
    deployed, _ = observed
    chat_id, caller, token = _chat_with_messages(deployed, 1)
    with grpc.insecure_channel(deployed.query_target) as channel:
        stub = threads_service_pb2_grpc.ChatQueryServiceStub(channel)
        got = stub.GetChat(
            threads_service_pb2.GetChatRequest(threads_id=chat_id, consistency_token=token), metadata=caller
        )
        before = deployed.metric("query", "ameide_live_subscribers") or 0.0
        stream = stub.StreamChatUpdates(
            threads_service_pb2.StreamChatRequest(threads_id=chat_id, resume_token=got.checkpoint_token),
            metadata=caller,
        )
        first = next(stream)
        assert first.WhichOneof("update") == "control"
        assert wait_for(lambda: deployed.metric("query", "ameide_live_subscribers") == before + 1, "one subscriber")
        in_flight = deployed.metric("query", "ameide_rpc_in_flight", method=f"{QUERIES}/StreamChatUpdates")
        assert in_flight == 1
        stream.cancel()
        assert wait_for(lambda: deployed.metric("query", "ameide_live_subscribers") == before, "the subscriber gone")
