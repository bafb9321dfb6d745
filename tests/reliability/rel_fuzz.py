"""Hypothesis strategies that build any request message from its proto descriptor, and a generic RPC caller.

Strings mix arbitrary unicode (NUL, RTL marks, emoji, no lone surrogates: protobuf cannot carry them), huge and
SQL-shaped text, random bytes dressed as tokens, and *valid* ids and tokens of real resources (so fuzzing reaches
the handlers, not just the validators). Numbers cover the full width of their type, enums take any int32 (proto3
enums are open), messages nest up to three levels, repeated fields and maps get a few entries.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2
from ameide_core_proto.live.v1 import live_service_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2

SERVICES = (
    threads_service_pb2.DESCRIPTOR.services_by_name["ChatCommandService"],
    threads_service_pb2.DESCRIPTOR.services_by_name["ChatQueryService"],
    artifacts_service_pb2.DESCRIPTOR.services_by_name["ArtifactCommandService"],
    artifacts_service_pb2.DESCRIPTOR.services_by_name["ArtifactQueryService"],
    # Live signals: StreamDraft is client streaming; a raw call sends it a stream of one message.
    live_service_pb2.DESCRIPTOR.services_by_name["PresenceService"],
    live_service_pb2.DESCRIPTOR.services_by_name["DraftService"],
)
METHODS: list[MethodDescriptor] = [method for service in SERVICES for method in service.methods]
COMMAND_SERVICES = frozenset({"ChatCommandService", "ArtifactCommandService"})


@dataclasses.dataclass
class Hints:
    """Real values for the strategies to mix in: the caller, ids of resources it may use, tokens it was given."""

    user_id: str
    tenant_id: str
    ids: list[str] = dataclasses.field(default_factory=list)
    tokens: list[str] = dataclasses.field(default_factory=list)


SQL_SHAPED = (
    "'; DROP TABLE rm_chats; --",
    '" OR 1=1 --',
    "%' OR tenant_id <> '' --",
    "') UNION SELECT payload FROM es_events --",
    "$$; SELECT pg_sleep(10); $$",
    "\\x00\\x27",
    "title:* & !x | (y <-> z)",
)

_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_ENUM: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


def _token_like() -> st.SearchStrategy[str]:
    return st.binary(max_size=96).map(
        lambda raw: (
            base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + base64.urlsafe_b64encode(raw[:8]).decode()
        )
    )


def string_strategy(hints: Sequence[str]) -> st.SearchStrategy[str]:
    """Any text a client might send, valid or not."""
    options: list[st.SearchStrategy[str]] = [
        _TEXT,
        st.sampled_from(SQL_SHAPED),
        _token_like(),
        st.text(st.sampled_from("\x00\u202e\u200b\ufeff'\"\\%_*:|&!<>😀a"), max_size=20),
        st.integers(1, 70_000).map(lambda n: "x" * n),
        st.uuids().map(str),
    ]
    if hints:
        options.append(st.sampled_from(list(hints)))
    return st.one_of(options)


def _string(field: FieldDescriptor, hints: Hints) -> st.SearchStrategy[str]:
    name = field.name
    if name in {"user_id", "tenant_id"}:
        # Mostly the caller's own identity (or none), so requests get past the identity check to the handlers.
        own = hints.user_id if name == "user_id" else hints.tenant_id
        return mostly(st.sampled_from(["", own]), string_strategy(()))
    if name.endswith(("_id", "_ids")) and hints.ids:
        return mostly(st.sampled_from(hints.ids), string_strategy(hints.ids))
    if name.endswith("_token") and hints.tokens:
        return mostly(st.sampled_from(["", *hints.tokens]), string_strategy(hints.tokens))
    return string_strategy(hints.ids)


def mostly(usual: st.SearchStrategy[str], rare: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``usual`` four times in five (``one_of`` would flatten ``rare``'s branches and drown ``usual``)."""
    return st.integers(0, 4).flatmap(lambda n: usual if n else rare)


def _scalar(field: FieldDescriptor, hints: Hints) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return _string(field, hints)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.binary(max_size=128), st.integers(1, 200_000).map(lambda n: b"\xff" * n))
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(width=32 if kind == FieldDescriptor.TYPE_FLOAT else 64)
    low, high = _INT_RANGES[kind]
    return st.one_of(st.integers(low, high), st.sampled_from([0, 1, -1, low, high]))


def _value(field: FieldDescriptor, hints: Hints, depth: int) -> st.SearchStrategy[Any]:
    if field.message_type is not None:
        return message_strategy(field.message_type, hints, depth + 1)
    return _scalar(field, hints)


def message_strategy(descriptor: Descriptor, hints: Hints, depth: int = 0) -> st.SearchStrategy[Message]:
    """A strategy for messages of ``descriptor`` with any subset of fields set."""
    cls = message_factory.GetMessageClass(descriptor)
    if depth > 3:
        return st.just(cls())
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key = field.message_type.fields_by_name["key"]
            value = field.message_type.fields_by_name["value"]
            fields[field.name] = st.dictionaries(_scalar(key, hints), _value(value, hints, depth), max_size=3)
        elif field.is_repeated:
            fields[field.name] = st.lists(_value(field, hints, depth), max_size=3)
        else:
            fields[field.name] = st.one_of(st.none(), _value(field, hints, depth))
    return st.fixed_dictionaries(fields).map(lambda values: _build(cls, descriptor, values))


def _build(cls: type[Message], descriptor: Descriptor, values: dict[str, Any]) -> Message:
    message = cls()
    for name, value in values.items():
        if value is None:
            continue
        field = descriptor.fields_by_name[name]
        target = getattr(message, name)
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, Message):
                    target[key].CopyFrom(item)
                else:
                    target[key] = item
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Message):
                    target.add().CopyFrom(item)
                else:
                    target.append(item)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            target.CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def request_class(method: MethodDescriptor) -> type[Message]:
    """The request message class of a method."""
    return message_factory.GetMessageClass(method.input_type)


def method_path(method: MethodDescriptor) -> str:
    """``/package.Service/Method``."""
    return f"/{method.containing_service.full_name}/{method.name}"


def call(channel: grpc.Channel, method: MethodDescriptor, payload: bytes, metadata: Any, timeout: float) -> Any:
    """Invoke ``method`` with raw request bytes (the response is parsed; streams are returned as iterators)."""
    response = message_factory.GetMessageClass(method.output_type)
    if method.server_streaming:
        stream: Any = channel.unary_stream(
            method_path(method), request_serializer=None, response_deserializer=response.FromString
        )
        return stream(payload, metadata=metadata, timeout=timeout)
    unary: Any = channel.unary_unary(
        method_path(method), request_serializer=None, response_deserializer=response.FromString
    )
    return unary(payload, metadata=metadata, timeout=timeout)
