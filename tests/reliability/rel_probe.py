"""Synchronous probes of any RPC by name, for the security and wire scenarios: code, details and reply."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from typing import Any

import grpc
import jwt
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from tests.reliability.rel_client import CHANNEL_OPTIONS, Code, Tally
from tests.reliability.rel_fuzz import COMMAND_SERVICES, METHODS, call
from tests.support.stack import Stack

BY_NAME: dict[str, MethodDescriptor] = {method.name: method for method in METHODS}
# What no error message may ever contain: internals of the service or of its database.
INTERNALS = ("SELECT", "INSERT", "UPDATE rm_", "psycopg", "sqlalchemy", "Traceback", "es_events", "rm_chats", 'File "')


@dataclasses.dataclass(frozen=True)
class Answer:
    """What a probe was told."""

    code: Code
    details: str
    reply: Any = None


class Prober:
    """Calls RPCs of a stack by name with any metadata, recording every answer."""

    def __init__(self, stack: Stack, tally: Tally) -> None:
        self._stack = stack
        self.tally = tally
        self.messages: list[str] = []
        self._channels = {
            "command": grpc.insecure_channel(stack.command_target, options=CHANNEL_OPTIONS),
            "query": grpc.insecure_channel(stack.query_target, options=CHANNEL_OPTIONS),
        }

    def close(self) -> None:
        """Close the channels."""
        for channel in self._channels.values():
            channel.close()

    def channel(self, method: MethodDescriptor) -> grpc.Channel:
        """The channel serving ``method``."""
        return self._channels["command" if method.containing_service.name in COMMAND_SERVICES else "query"]

    def invoke(self, name: str, request: Message, metadata: Any) -> Answer:
        """Call ``name``; a stream answers with its first update (then is cancelled)."""
        method = BY_NAME[name]
        try:
            result = call(self.channel(method), method, request.SerializeToString(), metadata, timeout=10)
            if method.server_streaming:
                first = next(iter(result))
                result.cancel()
                result = first
        except grpc.RpcError as error:
            answer = Answer(error.code(), error.details() or "")
            self.messages.append(answer.details)
            self.tally.requests += 1
            self.tally.codes[answer.code.name] += 1
            return answer
        self.tally.ok()
        return Answer(Code.OK, "", result)

    def expect(self, name: str, request: Message, metadata: Any, allowed: set[Code], label: str) -> Answer:
        """Call and record a wrong code (never raises, so one probe's failure does not hide the others)."""
        answer = self.invoke(name, request, metadata)
        if answer.code not in allowed:
            self.tally.wrong.append(f"{label}: {name} answered {answer.code.name} {answer.details!r}")
        return answer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def bad_tokens(secret: str, user_id: str, tenant_id: str) -> dict[str, str]:
    """Bearer tokens the service must refuse, each named by what is wrong with it."""
    now = int(time.time())
    good = {"sub": user_id, "tenant_id": tenant_id, "iat": now, "exp": now + 600}

    def signed(claims: dict[str, Any], key: str = secret, algorithm: str = "HS256") -> str:
        return jwt.encode(claims, key, algorithm=algorithm)

    unsigned = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + _b64(json.dumps(good).encode()) + "."
    missing = {name: {k: v for k, v in good.items() if k != name} for name in ("sub", "tenant_id", "exp")}
    return {
        "expired": signed({**good, "iat": now - 7200, "exp": now - 3600}),
        "not yet valid": signed({**good, "nbf": now + 3600}),
        "wrong key": signed(good, key="another-secret-entirely-0123456789"),
        "alg none": unsigned,
        "alg none, signature kept": unsigned + signed(good).rsplit(".", 1)[1],
        "no sub": signed(missing["sub"]),
        "no tenant claim": signed(missing["tenant_id"]),
        "no exp": signed(missing["exp"]),
        "empty sub": signed({**good, "sub": ""}),
        "sub with NUL": signed({**good, "sub": "a\x00b"}),
        "HS512 not accepted": signed(good, algorithm="HS512"),
        "garbage": "not.a.jwt",
        "tampered payload": signed(good).split(".")[0] + "." + _b64(b'{"sub":"x"}') + "." + signed(good).split(".")[2],
    }


def bad_authorization(secret: str, user_id: str, tenant_id: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """Whole metadata sets that must be refused (bad tokens, wrong schemes, nothing at all)."""
    sets: dict[str, tuple[tuple[str, str], ...]] = {
        name: (("authorization", f"Bearer {token}"),) for name, token in bad_tokens(secret, user_id, tenant_id).items()
    }
    sets["no credentials"] = ()
    sets["empty bearer"] = (("authorization", "Bearer "),)
    sets["basic scheme"] = (("authorization", "Basic dXNlcjpwYXNz"),)
    sets["dev headers in jwt mode"] = (("x-user-id", user_id), ("x-tenant-id", tenant_id))
    return sets
