"""Running the documentation's Python examples against the real services (docs/examples.md is the convention).

Each example runs on its own: a fresh namespace holding only the documented names (``client``, ``token``,
``artifact_id``, ``chat_id``, ...), compiled with top-level ``await`` allowed, with the dev endpoints
(``127.0.0.1:50051`` / ``:50052``, also as ``localhost``) replaced by the running services'. A live subscription
opened by an example is kept alive and finite: once the server greets it (SUBSCRIBED) the runner writes one update
to that chat or artifact, and the subscription ends after the first update the example receives.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as arts
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_sdk import AmeideClient, Subscription
from tests.support.doc_blocks import Example

COMMAND_PORT, QUERY_PORT = "50051", "50052"
SAMPLE_FILE = "order-process.bpmn"
# What the examples' application functions stand for: ``render(messages)``, ``apply(update)``, ...
CALLBACKS = ("render", "apply", "show", "show_content", "add_to_sidebar")

SUBSCRIBED = types.StreamControl.KIND_SUBSCRIBED


def bpmn(*, tasks: int) -> bytes:
    """A small BPMN 2.0 diagram with ``tasks`` tasks in a row (the documents' ``order-process.bpmn``)."""
    steps = "".join(f'<bpmn:task id="t{i}" name="Step {i}"/>' for i in range(1, tasks + 1))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
        f'<bpmn:process id="order" isExecutable="false">{steps}</bpmn:process></bpmn:definitions>'
    ).encode()


def with_endpoints(code: str, command_target: str, query_target: str) -> str:
    """The example's code talking to the running services instead of the dev ports."""
    for host in ("127.0.0.1", "localhost"):
        code = code.replace(f"{host}:{COMMAND_PORT}", command_target).replace(f"{host}:{QUERY_PORT}", query_target)
    return code


@dataclass
class Recorder:
    """An application function of the examples (``render``, ``apply``, ...): it records what it is given."""

    name: str
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        """Record one call."""
        self.calls.append((args, kwargs))


@dataclass
class ExampleContext:
    """The names every Python example may use without defining them (docs/examples.md lists them)."""

    client: AmeideClient
    token: str
    artifact_id: str
    chat_id: str
    seen_version: int
    new_body: bytes
    callbacks: dict[str, Recorder]

    def namespace(self) -> dict[str, Any]:
        """A fresh namespace for one example."""
        return {
            "__name__": "__example__",
            "client": self.client,
            "token": self.token,
            "artifact_id": self.artifact_id,
            "chat_id": self.chat_id,
            "seen_version": self.seen_version,
            "new_body": self.new_body,
            **self.callbacks,
        }


@contextlib.asynccontextmanager
async def example_context(command_target: str, query_target: str, token: str) -> AsyncIterator[ExampleContext]:
    """A client of ``token``'s caller with an artifact and a chat about it, both readable at once."""
    async with AmeideClient(command_target, query_target=query_target, token=token) as client:
        created = await client.artifact_commands.CreateArtifact(
            arts.CreateArtifactRequest(
                title="Order Process",
                kind="bpmn",
                content=art_types.ArtifactContent(mime_type="application/bpmn+xml", body=bpmn(tasks=2)),
            )
        )
        sent = await client.threads_artifact.send_message_from_artifact(
            created.artifact_id, "What does this process do?"
        )
        await client.threads_queries.GetChat(
            chats.GetChatRequest(threads_id=sent.threads_id, consistency_token=sent.consistency_token)
        )
        loaded = await client.artifact_queries.GetArtifact(arts.GetArtifactRequest(artifact_id=created.artifact_id))
        yield ExampleContext(
            client=client,
            token=token,
            artifact_id=created.artifact_id,
            chat_id=sent.threads_id,
            seen_version=loaded.artifact.version,
            new_body=bpmn(tasks=3),
            callbacks={name: Recorder(name) for name in CALLBACKS},
        )


async def run_python(example: Example, namespace: dict[str, Any], *, command_target: str, query_target: str) -> None:
    """Run one Python example; its errors carry the document's file and line numbers."""
    code = compile(
        with_endpoints(example.padded(), command_target, query_target),
        example.path,
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        dont_inherit=True,
    )
    result = eval(code, namespace)  # noqa: S307 - the repository's own documentation examples
    if inspect.isawaitable(result):
        await result


class FirstUpdate:
    """A subscription an example opened, kept alive and finite (see the module docstring)."""

    def __init__(self, subscription: Subscription[Any], nudge: Callable[[], Awaitable[None]], *, control: bool) -> None:
        self._subscription = subscription
        self._nudge = nudge
        self._control = control

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._run()

    async def _run(self) -> AsyncIterator[Any]:
        nudged = False
        try:
            async for update in self._subscription:
                if update.WhichOneof("update") != "control":
                    yield update
                    return
                if not nudged and update.control.kind == SUBSCRIBED:
                    nudged = True
                    await self._nudge()
                if self._control:
                    yield update
        finally:
            await self._subscription.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._subscription, name)


@contextlib.contextmanager
def live_feeds(writer: AmeideClient) -> Iterator[None]:
    """While active, every ``subscribe_chat`` / ``subscribe_artifact`` is a ``FirstUpdate`` nudged by ``writer``."""
    original_chat, original_artifact = AmeideClient.subscribe_chat, AmeideClient.subscribe_artifact

    def subscribe_chat(self: AmeideClient, threads_id: Any, **options: Any) -> FirstUpdate:
        control = options.pop("include_control", False)
        subscription = original_chat(self, threads_id, include_control=True, **options)
        chat_id = subscription.feed.removeprefix("thread:")
        return FirstUpdate(subscription, lambda: _say_something(writer, chat_id), control=control)

    def subscribe_artifact(self: AmeideClient, artifact_id: Any, **options: Any) -> FirstUpdate:
        control = options.pop("include_control", False)
        subscription = original_artifact(self, artifact_id, include_control=True, **options)
        target = subscription.feed.removeprefix("artifact:")
        return FirstUpdate(subscription, lambda: _link_a_chat(writer, target), control=control)

    AmeideClient.subscribe_chat = subscribe_chat  # type: ignore[assignment,method-assign]
    AmeideClient.subscribe_artifact = subscribe_artifact  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        AmeideClient.subscribe_chat = original_chat  # type: ignore[method-assign]
        AmeideClient.subscribe_artifact = original_artifact  # type: ignore[method-assign]


async def _say_something(writer: AmeideClient, chat_id: str) -> None:
    message = types.ChatMessageInput(role="user", parts=[types.MessagePart(text=types.TextPart(text="(meanwhile)"))])
    await writer.threads_commands.SendMessage(
        chats.SendMessageRequest(threads_id=chat_id, message=message, idempotency_key=str(uuid.uuid4()))
    )


async def _link_a_chat(writer: AmeideClient, artifact_id: str) -> None:
    """A new chat linked to the artifact: an update of its feed that leaves its version alone."""
    created = await writer.threads_commands.CreateChat(chats.CreateChatRequest(title="Meanwhile"))
    await writer.threads_commands.AssociateArtifact(
        chats.AssociateChatArtifactRequest(threads_id=created.threads.id, artifact_id=artifact_id)
    )


def write_sample_file(directory: Path) -> Path:
    """The diagram the examples read from their working directory."""
    path = directory / SAMPLE_FILE
    path.write_bytes(bpmn(tasks=2))
    return path
