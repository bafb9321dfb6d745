"""Scenario 6a: every RPC fuzzed with requests generated from the proto descriptors (hypothesis, derandomized).

Only documented status codes may come back (never UNKNOWN or INTERNAL), every deployable stays alive and SERVING,
and whatever the fuzzed writes stored still projects exactly as a fresh rebuild of the log does. Raw garbage
request bytes, a request nested beyond protobuf's recursion limit and messages at and above the gRPC size limit
get INVALID_ARGUMENT / RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2
from hypothesis import HealthCheck, given, settings

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art
from ameide_core_proto.threads.v1 import threads_service_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from tests.reliability.auditor import Auditor
from tests.reliability.rel_client import CHANNEL_OPTIONS, Caller, Code, Tally, new_tenant, text_message
from tests.reliability.rel_fleet import Fleet
from tests.reliability.rel_fuzz import COMMAND_SERVICES, METHODS, Hints, call, message_strategy
from tests.reliability.rel_load import Ledger
from tests.reliability.rel_report import record
from tests.support.stack import health_status

pytestmark = pytest.mark.reliability

EXAMPLES = int(os.environ.get("AMEIDE_FUZZ_EXAMPLES", "20"))
DOCUMENTED = frozenset(
    {
        Code.OK,
        Code.INVALID_ARGUMENT,
        Code.NOT_FOUND,
        Code.PERMISSION_DENIED,
        Code.FAILED_PRECONDITION,
        Code.ABORTED,
        Code.RESOURCE_EXHAUSTED,
    }
)
# A stream that is valid stays open; the fuzzer reads its first update and hangs up (or its short deadline ends it).
STREAM_ENDS = frozenset({Code.CANCELLED, Code.DEADLINE_EXCEEDED})
TALLY = Tally()
UNDER_LIMIT = (8 << 20) - 64


class FuzzTarget:
    """Channels to the fleet, a caller, and real ids/tokens for the strategies to mix in."""

    def __init__(self, fleet: Fleet, who: Caller) -> None:
        self.fleet = fleet
        self.who = who
        self.channels = {
            "command": grpc.insecure_channel(fleet.command_target, options=CHANNEL_OPTIONS),
            "query": grpc.insecure_channel(fleet.query_target, options=CHANNEL_OPTIONS),
        }
        self.hints = Hints(who.user_id, who.tenant_id)

    def channel(self, method: MethodDescriptor) -> grpc.Channel:
        """The channel serving ``method``."""
        return self.channels["command" if method.containing_service.name in COMMAND_SERVICES else "query"]

    def seed(self) -> None:
        """Real resources and tokens, so generated requests also reach past validation."""
        md = self.who.metadata
        commands = self.channels["command"]
        created = commands.unary_unary(
            "/ameide_core_proto.artifacts.v1.ArtifactCommandService/CreateArtifact",
            request_serializer=art.CreateArtifactRequest.SerializeToString,
            response_deserializer=art.CreateArtifactResponse.FromString,
        )(art.CreateArtifactRequest(title="Fuzz target", kind="bpmn"), metadata=md, timeout=10)
        ensure = commands.unary_unary(
            "/ameide_core_proto.threads.v1.ChatCommandService/EnsureChatForArtifactAndSendMessage",
            request_serializer=chat.EnsureChatForArtifactAndSendMessageRequest.SerializeToString,
            response_deserializer=chat.EnsureChatForArtifactAndSendMessageResponse.FromString,
        )
        chats = [
            ensure(
                chat.EnsureChatForArtifactAndSendMessageRequest(
                    artifact_id=created.artifact_id, message=text_message(f"seed {i}"), idempotency_key=f"fuzz-{i}"
                ),
                metadata=md,
                timeout=10,
            )
            for i in range(2)
        ]
        listing = self.channels["query"].unary_unary(
            "/ameide_core_proto.threads.v1.ChatQueryService/ListChats",
            request_serializer=chat.ListChatsRequest.SerializeToString,
            response_deserializer=chat.ListChatsResponse.FromString,
        )(chat.ListChatsRequest(page_size=1, consistency_token=chats[1].consistency_token), metadata=md, timeout=10)
        checkpoint = (
            self.channels["query"]
            .unary_unary(
                "/ameide_core_proto.threads.v1.ChatQueryService/GetChat",
                request_serializer=chat.GetChatRequest.SerializeToString,
                response_deserializer=chat.GetChatResponse.FromString,
            )(chat.GetChatRequest(threads_id=chats[0].threads_id), metadata=md, timeout=10)
            .checkpoint_token
        )
        self.hints.ids += [created.artifact_id, *(c.threads_id for c in chats)]
        self.hints.tokens += [created.consistency_token, listing.next_page_token, checkpoint]
        self.hints.tokens += [c.consistency_token for c in chats]

    def close(self) -> None:
        """Close the channels."""
        for channel in self.channels.values():
            channel.close()


@pytest.fixture(scope="module", name="target")
def fixture_target(fleet: Fleet) -> Iterator[FuzzTarget]:
    """A seeded fuzz target."""
    (who,) = new_tenant(fleet, "fuzzer")
    target = FuzzTarget(fleet, who)
    target.seed()
    yield target
    target.close()


def _check(method: MethodDescriptor, code: Code, details: str, allowed: frozenset[Code]) -> None:
    TALLY.requests += 1
    TALLY.codes[code.name] += 1
    if code not in allowed:
        TALLY.wrong.append(f"{method.name}: {code.name} {details!r}")
        pytest.fail(f"{method.name} answered {code.name}: {details!r}")


def _invoke(target: FuzzTarget, method: MethodDescriptor, payload: bytes) -> None:
    metadata = target.who.metadata
    try:
        result = call(
            target.channel(method), method, payload, metadata, timeout=10 if not method.server_streaming else 3
        )
        if method.server_streaming:
            next(iter(result))
            result.cancel()
            _check(method, Code.OK, "", DOCUMENTED)
            return
        _check(method, Code.OK, "", DOCUMENTED)
    except grpc.RpcError as error:
        allowed = DOCUMENTED | STREAM_ENDS if method.server_streaming else DOCUMENTED
        _check(method, error.code(), error.details() or "", allowed)


def _healthy(target: FuzzTarget) -> None:
    assert target.fleet.crashed() == {}
    for name in ("command", "query"):
        assert health_status(target.fleet.target(name)) == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
def test_fuzzed_requests_get_documented_codes(target: FuzzTarget, method: MethodDescriptor) -> None:
    """Generated requests: only documented codes, and the service stays healthy."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(request=message_strategy(method.input_type, target.hints))
    def fuzz(request: object) -> None:
        _invoke(target, method, request.SerializeToString())  # type: ignore[attr-defined]

    fuzz()
    _healthy(target)


def _nested(depth: int) -> bytes:
    """Unknown groups (field 15) nested ``depth`` deep: the parser must recurse to find each end-group tag."""
    return b"\x7b" * depth + b"\x7c" * depth


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


@pytest.mark.parametrize(
    ("label", "payload", "expected"),
    [
        ("garbage", b"\xff\xfe\x00garbage\x12\x99", frozenset({Code.INVALID_ARGUMENT})),
        ("truncated", b"\x0a\x64abc", frozenset({Code.INVALID_ARGUMENT})),
        ("groups nested 100000 deep", _nested(100_000), DOCUMENTED),
        ("field 1 of 8 MiB - 64 bytes", b"\x0a" + _varint(UNDER_LIMIT) + b"t" * UNDER_LIMIT, DOCUMENTED),
        ("field 1 of 9 MiB", b"\x0a" + _varint(9 << 20) + b"t" * (9 << 20), frozenset({Code.RESOURCE_EXHAUSTED})),
    ],
)
def test_malformed_and_oversized_request_bodies(
    target: FuzzTarget, label: str, payload: bytes, expected: frozenset[Code]
) -> None:
    """Raw bytes that do not parse, nest too deep, or reach and pass the 8 MiB limit: documented codes only."""
    for method in METHODS:
        try:
            result = call(target.channel(method), method, payload, target.who.metadata, timeout=30)
            if method.server_streaming:
                next(iter(result))
                result.cancel()
            code, details = Code.OK, ""
        except grpc.RpcError as error:
            code, details = error.code(), error.details() or ""
        _check(method, code, f"{label}: {details}", expected)
    _healthy(target)


@pytest.mark.parametrize(
    "stamp",
    [Timestamp(nanos=-1), Timestamp(nanos=1_000_000_000), Timestamp(seconds=2**62), Timestamp(seconds=-(2**62))],
    ids=["negative nanos", "nanos overflow", "year beyond 9999", "year before 1"],
)
def test_invalid_filter_timestamps_are_invalid_argument(target: FuzzTarget, stamp: Timestamp) -> None:
    """Regression (found by the fuzzer): a ChatFilter timestamp that does not convert was INTERNAL."""
    bad = chat.ChatFilter(query="seed", created_after=stamp, created_before=stamp)
    requests = {
        "ListChats": chat.ListChatsRequest(filter=bad),
        "SearchChats": chat.SearchChatsRequest(query="seed", filter=bad),
    }
    for name, request in requests.items():
        method = threads_service_pb2.DESCRIPTOR.services_by_name["ChatQueryService"].methods_by_name[name]
        with pytest.raises(grpc.RpcError) as failure:
            call(target.channel(method), method, request.SerializeToString(), target.who.metadata, timeout=10)
        _check(method, failure.value.code(), failure.value.details() or "", frozenset({Code.INVALID_ARGUMENT}))


NUL_WRITES = {
    "CreateChat": chat.CreateChatRequest(title="a\x00b"),
    "CreateChat tags": chat.CreateChatRequest(title="t", metadata=types.ChatMetadata(tags=["x\x00"])),
    "CreateChat description": chat.CreateChatRequest(title="t", metadata=types.ChatMetadata(description="\x00")),
    "CreateArtifact": art.CreateArtifactRequest(title="t\x00", kind="bpmn"),
    "CreateArtifact kind": art.CreateArtifactRequest(title="t", kind="bp\x00mn"),
    "CreateArtifact labels": art.CreateArtifactRequest(title="t", kind="bpmn", metadata={"k": "v\x00"}),
    "CreateArtifact label key": art.CreateArtifactRequest(title="t", kind="bpmn", metadata={"\x00": "v"}),
}


@pytest.mark.parametrize("label", list(NUL_WRITES))
def test_nul_in_text_the_read_model_stores_is_invalid_argument(target: FuzzTarget, label: str) -> None:
    """Regression (found by the fuzzer): a NUL in a title/label was acknowledged, then could never project."""
    request = NUL_WRITES[label]
    service = "ChatCommandService" if isinstance(request, chat.CreateChatRequest) else "ArtifactCommandService"
    module = threads_service_pb2 if service == "ChatCommandService" else art
    method = module.DESCRIPTOR.services_by_name[service].methods_by_name[label.split(maxsplit=1)[0]]
    with pytest.raises(grpc.RpcError) as failure:
        call(target.channel(method), method, request.SerializeToString(), target.who.metadata, timeout=10)
    _check(method, failure.value.code(), failure.value.details() or "", frozenset({Code.INVALID_ARGUMENT}))


async def test_fuzzed_writes_still_project_like_a_rebuild(fleet: Fleet, auditor: Auditor) -> None:
    """Whatever the fuzzed writes stored (unicode, NUL, huge values) projects exactly as a fresh rebuild does."""
    verdict = await auditor.audit(Ledger())
    record(
        "6a fuzzing every RPC (hypothesis)",
        load=f"{len(METHODS)} RPCs x {EXAMPLES} generated requests + 5 malformed/oversized bodies each",
        faults="-",
        tally=TALLY,
        verdict=verdict,
        notes=f"codes {dict(TALLY.codes)}",
    )
    assert verdict.ok, verdict.report()
    assert TALLY.wrong == []
    assert fleet.crashed() == {}
