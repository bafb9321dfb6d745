"""One trace through the real processes: command RPC -> append -> projection -> feed publish -> Redis call.

The three deployables run with ``AMEIDE_TRACE_FILE`` (every span as a JSON line, the documented debug exporter),
so the spans of all three processes land in one file. The client sends its own W3C ``traceparent``; the test then
reads the file and checks that the command's server span, its ``eventstore.append``, the projector's
``projector.project``, ``feed.publish`` (queued after commit), ``feed.xadd`` (the background send) and the Redis
script call (EVALSHA) all belong to that one trace, parented in that order,
and that a query RPC (with its SQL statements) joins a trace the same way.
"""

from __future__ import annotations

import json
import secrets
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest

from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc, threads_types_pb2
from tests.e2e.observability.obs_harness import Deployment, wait_for

pytestmark = pytest.mark.e2e

Span = dict[str, Any]
CHAT_COMMANDS = "/ameide_core_proto.threads.v1.ChatCommandService"
CHAT_QUERIES = "/ameide_core_proto.threads.v1.ChatQueryService"


def _traceparent() -> tuple[str, str, str]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def _spans(trace_file: Path, trace_id: str) -> list[Span]:
    if not trace_file.exists():
        return []
    lines = trace_file.read_text(encoding="utf-8").splitlines()
    return [span for span in map(json.loads, filter(None, lines)) if span["trace_id"] == trace_id]


def _one(spans: list[Span], **match: str) -> Span | None:
    found = [s for s in spans if all(s.get(k) == v for k, v in match.items())]
    assert len(found) <= 1, found
    return found[0] if found else None


def _send(deployed: Deployment, traceparent: str) -> tuple[str, str, str]:
    """Create a chat and send a message (with ``traceparent``): the chat id, the caller's token, consistency."""
    caller = deployed.metadata("owner", f"tenant-{uuid.uuid4()}")
    with grpc.insecure_channel(deployed.command_target) as channel:
        stub = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
        created = stub.CreateChat(threads_service_pb2.CreateChatRequest(title="traced"), metadata=caller)
        chat = created.threads
        # Once the chat is projected the message's event is a batch of its own: the Redis call of a batch nests
        # under the publish span of its first trace only.
        with grpc.insecure_channel(deployed.query_target) as query_channel:
            threads_service_pb2_grpc.ChatQueryServiceStub(query_channel).GetChat(
                threads_service_pb2.GetChatRequest(threads_id=chat.id, consistency_token=created.consistency_token),
                metadata=caller,
            )
        text = threads_types_pb2.TextPart(text="hello")
        message = threads_types_pb2.ChatMessageInput(role="user", parts=[threads_types_pb2.MessagePart(text=text)])
        sent = stub.SendMessage(
            threads_service_pb2.SendMessageRequest(threads_id=chat.id, message=message),
            metadata=(*caller, ("traceparent", traceparent)),
        )
    return chat.id, caller[0][1], sent.consistency_token


def test_send_message_is_one_trace_from_rpc_to_feed_publish(observed: tuple[Deployment, Path]) -> None:
    """RPC -> append -> project -> feed.publish -> feed.xadd -> Redis EVALSHA: the client's trace, in that order."""
    deployed, trace_file = observed
    traceparent, trace_id, client_span = _traceparent()
    _send(deployed, traceparent)

    def chain() -> dict[str, Span] | None:
        spans = _spans(trace_file, trace_id)
        rpc = _one(spans, name=f"{CHAT_COMMANDS}/SendMessage", service="ameide-command")
        append = _one(spans, name="eventstore.append")
        project = _one(spans, name="projector.project")
        publish = _one(spans, name="feed.publish")
        send = _one(spans, name="feed.xadd")
        # The publisher's script call (EVALSHA) carries the XADDs.
        redis = [s for s in spans if s["scope"] == "opentelemetry.instrumentation.redis" and "EVALSHA" in s["name"]]
        if rpc and append and project and publish and send and redis:
            return {
                "rpc": rpc,
                "append": append,
                "project": project,
                "publish": publish,
                "send": send,
                "xadd": redis[0],
            }
        return None

    found = wait_for(chain, "the SendMessage trace to reach the feed publish")
    assert found["rpc"]["kind"] == "SERVER"
    assert found["rpc"]["parent_span_id"] == client_span
    assert found["append"]["service"] == "ameide-command"
    assert found["append"]["parent_span_id"] == found["rpc"]["span_id"]
    assert found["project"]["service"] == "ameide-projector"
    assert found["project"]["parent_span_id"] == found["rpc"]["span_id"]
    assert found["project"]["attributes"]["ameide.event_types"] == ["ameide_core_proto.threads.v1.MessageSentEvent"]
    assert found["publish"]["service"] == "ameide-projector"
    assert found["publish"]["parent_span_id"] == found["project"]["span_id"]
    assert found["send"]["parent_span_id"] == found["publish"]["span_id"]
    assert found["xadd"]["parent_span_id"] == found["send"]["span_id"]
    # The projection also links to its batch span, a trace of the projector's own.
    assert [link["trace_id"] != trace_id for link in found["project"]["links"]] == [True]


def test_query_rpc_joins_the_callers_trace_with_its_sql(observed: tuple[Deployment, Path]) -> None:
    """A query RPC continues the caller's trace; its SQL statements are child spans."""
    deployed, trace_file = observed
    chat_id, token, consistency = _send(deployed, _traceparent()[0])
    traceparent, trace_id, client_span = _traceparent()
    with grpc.insecure_channel(deployed.query_target) as channel:
        stub = threads_service_pb2_grpc.ChatQueryServiceStub(channel)
        stub.GetChat(
            threads_service_pb2.GetChatRequest(threads_id=chat_id, consistency_token=consistency),
            metadata=(("authorization", token), ("traceparent", traceparent)),
        )

    def rpc_and_sql() -> tuple[Span, list[Span]] | None:
        spans = _spans(trace_file, trace_id)
        rpc = _one(spans, name=f"{CHAT_QUERIES}/GetChat", service="ameide-query")
        sql = [s for s in spans if rpc and s["parent_span_id"] == rpc["span_id"] and "db.statement" in s["attributes"]]
        return (rpc, sql) if rpc and sql else None

    rpc, sql = wait_for(rpc_and_sql, "the GetChat span and its SQL")
    assert rpc["parent_span_id"] == client_span
    assert {s["kind"] for s in sql} == {"CLIENT"}
    assert all(s["service"] == "ameide-query" for s in sql)


def test_background_polls_start_no_traces(observed: tuple[Deployment, Path]) -> None:
    """The projector's outbox polls and the Redis reads of idle loops leave no root CLIENT spans."""
    deployed, trace_file = observed
    _send(deployed, _traceparent()[0])
    wait_for(lambda: trace_file.exists() and "projector.batch" in trace_file.read_text(encoding="utf-8"), "a batch")
    spans = [json.loads(line) for line in trace_file.read_text(encoding="utf-8").splitlines() if line]
    roots = [s for s in spans if not s["parent_span_id"]]
    assert roots
    assert not [s for s in roots if s["kind"] == "CLIENT"]
