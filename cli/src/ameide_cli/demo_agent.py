"""The demo agent of ``ameide dev --demo``: answers each user message in a chat of agent ``demo`` with a draft.

No model runs: the answer is a template about the chat's linked artifact (title, kind, version, size, and the tasks
of a BPMN diagram), sent a few words at a time through ``AmeideClient.stream_draft`` so the web app and any
subscriber with ``include_signals`` see the draft grow, then become the assistant message. The draft id is derived
from the message it answers, so a restarted agent that answers again stores no second message.

It acts for the development user (a token minted with the development secret, as ``ameide dev`` prints): it sees
that user's chats and the tenant's TEAM and PUBLIC ones. A real agent is called by the application for a turn; this
one finds new chats by listing them every ``POLL_SECONDS`` and then follows each chat's live updates. Run by
``ameide dev --demo`` as a supervised child: ``python -m ameide_cli.demo_agent`` with the children's environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import uuid
from collections.abc import Mapping, Sequence

import grpc.aio

from ameide_cli.dev import DEMO_AGENT
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as arts
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_runtime.auth import mint_token
from ameide_sdk import AmeideClient
from ameide_web.dev_tokens import DEFAULT_TENANT, DEFAULT_USER

AGENT_ID = DEMO_AGENT
TOKEN_TTL_SECONDS = 7 * 24 * 3600
POLL_SECONDS = 1.0
UNANSWERED_LOOKBACK = 20
WORDS_PER_DELTA = 3
SECONDS_PER_DELTA = 0.08  # pacing for a human reader, not synchronisation
# Drafts answering the same message get the same id: completing one twice stores one message.
_DRAFTS = uuid.UUID("6a3b1f0e-2f1d-4a8e-9c7b-0d9e5f2a7c41")
_TASK = re.compile(rb'<bpmn:\w*[Tt]ask\b[^>]*\bname="([^"]*)"')

_log = logging.getLogger("ameide.demo_agent")


def draft_id_for(message_id: str) -> str:
    """The draft answering ``message_id`` (stable across restarts)."""
    return str(uuid.uuid5(_DRAFTS, message_id))


def describe(artifact: art_types.ArtifactView | None) -> str:
    """What the template says about the chat's artifact."""
    if artifact is None:
        return "This chat has no artifact linked yet: link one and ask again."
    body = artifact.content.body
    about = f"About \u201c{artifact.title}\u201d ({artifact.kind or 'untyped'}, version {artifact.version}):"
    tasks = [name.decode(errors="replace") for name in _TASK.findall(body)]
    if tasks:
        return f"{about} {len(tasks)} task(s), {', '.join(tasks)}."
    return f"{about} {len(body):,} bytes of content."


def reply(question: str, artifact: art_types.ArtifactView | None) -> str:
    """The whole templated answer."""
    asked = " ".join(question.split())
    return (
        f"{describe(artifact)} You asked: \u201c{asked[:200]}\u201d. I am the demo agent: no model runs here, "
        "so this answer is a template, streamed a few words at a time to show how drafts appear and then "
        "become a message of the chat."
    )


def unanswered(newest_first: Sequence[types.ChatMessage]) -> list[types.ChatMessage]:
    """The user messages after the newest assistant message, oldest first (what a restarted agent still owes)."""
    owed: list[types.ChatMessage] = []
    for message in newest_first:
        if message.role == "assistant":
            break
        if message.role == "user":
            owed.append(message)
    return owed[::-1]


def pieces(text: str, words: int = WORDS_PER_DELTA) -> list[str]:
    """``text`` in deltas of a few words (their concatenation is ``text``)."""
    parts = re.findall(r"\S+\s*", text)
    return ["".join(parts[i : i + words]) for i in range(0, len(parts), words)]


class DemoAgent:
    """Finds the chats of agent ``demo`` and answers their user messages."""

    def __init__(
        self, client: AmeideClient, *, poll_seconds: float = POLL_SECONDS, pace: float = SECONDS_PER_DELTA
    ) -> None:
        self._client = client
        self._poll = poll_seconds
        self._pace = pace
        self._followed: dict[str, asyncio.Task[None]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: discover chats, follow each."""
        try:
            while not stop.is_set():
                with contextlib.suppress(grpc.aio.AioRpcError):
                    await self._discover()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll):
                        await stop.wait()
        finally:
            for task in self._followed.values():
                task.cancel()
            await asyncio.gather(*self._followed.values(), return_exceptions=True)

    async def _discover(self) -> None:
        page = await self._client.threads_queries.ListChats(chats.ListChatsRequest(page_size=100))
        for chat in page.threads:
            if chat.agent_id == AGENT_ID and chat.id not in self._followed:
                self._followed[chat.id] = asyncio.create_task(self._follow(chat.id), name=f"demo-agent-{chat.id}")

    async def _follow(self, chat_id: str) -> None:
        try:
            latest = await self._client.threads_queries.GetMessages(
                chats.GetMessagesRequest(threads_id=chat_id, page_size=UNANSWERED_LOOKBACK, newest_first=True)
            )
            for message in unanswered(latest.messages):
                await self._answer_or_log(chat_id, message)
            async for update in self._client.subscribe_chat(chat_id, resume_token=latest.checkpoint_token):
                if update.WhichOneof("update") == "message" and update.message.role == "user":
                    await self._answer_or_log(chat_id, update.message)
        except grpc.aio.AioRpcError as error:
            _log.warning("stopped following chat %s: %s %s", chat_id, error.code().name, error.details())

    async def _answer_or_log(self, chat_id: str, message: types.ChatMessage) -> None:
        try:
            await self.answer(chat_id, message)
        except grpc.aio.AioRpcError as error:
            _log.warning("could not answer message %s: %s %s", message.id, error.code().name, error.details())

    async def answer(self, chat_id: str, message: types.ChatMessage) -> None:
        """Stream the templated answer to ``message`` as a draft, then complete it."""
        question = " ".join(part.text.text for part in message.parts if part.WhichOneof("kind") == "text")
        artifact = await self._artifact_of(chat_id, message.artifact_id)
        text = reply(question, artifact)
        draft_id = draft_id_for(message.id)
        about = artifact.id if artifact is not None else None
        async with self._client.stream_draft(chat_id, agent_id=AGENT_ID, draft_id=draft_id, artifact_id=about) as draft:
            for piece in pieces(text):
                await draft.append(piece)
                await asyncio.sleep(self._pace)
        assert draft.completed is not None  # noqa: S101 - leaving the block normally completes the draft
        print(
            f"answered message #{message.sequence} of chat {chat_id}: draft {draft_id} ({draft.seq} deltas) "
            f"-> message #{draft.completed.message_sequence}",
            flush=True,
        )

    async def _artifact_of(self, chat_id: str, named: str) -> art_types.ArtifactView | None:
        """The artifact the message names, else the one linked to the chat most recently."""
        if not named:
            linked = await self._client.threads_queries.GetChatArtifacts(
                chats.GetChatArtifactsRequest(threads_id=chat_id, page_size=1)
            )
            if not linked.artifacts:
                return None
            named = linked.artifacts[0].artifact_id
        found = await self._client.artifact_queries.GetArtifact(arts.GetArtifactRequest(artifact_id=named))
        return found.artifact


async def main(environ: Mapping[str, str]) -> int:
    """Run the agent against the dev services named by the children's environment until SIGTERM / SIGINT."""
    token = mint_token(
        environ["AMEIDE_JWT_SECRET"], user_id=DEFAULT_USER, tenant_id=DEFAULT_TENANT, ttl_seconds=TOKEN_TTL_SECONDS
    )
    command = f"127.0.0.1:{environ.get('AMEIDE_COMMAND_PORT', '50051')}"
    query = f"127.0.0.1:{environ.get('AMEIDE_QUERY_PORT', '50052')}"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"demo agent: answering chats of agent '{AGENT_ID}' as {DEFAULT_USER} ({DEFAULT_TENANT})", flush=True)
    async with AmeideClient(command, query_target=query, token=token) as client:
        await DemoAgent(client).run(stop)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    sys.exit(asyncio.run(main(os.environ)))
