"""``ameide dev --demo``: the spec's artifact-first flow, run through the Python SDK while two live subscribers watch.

Once the services answer, the demo seeds the dev tenant with a BPMN diagram (a real, small BPMN 2.0 document) and a
policy document, subscribes to the diagram from the checkpoint of its first read, then: Ensure (a chat about the
diagram is created with the first message) -> the chat is loaded and subscribed to from its checkpoint (no gap) ->
a second message -> the policy is associated -> the diagram's content is updated. Each update the subscribers
receive is printed as it arrives. The chat's subscriber asks for live signals too, so the demo agent's answers
(``ameide_cli.demo_agent``, which ``ameide dev --demo`` runs) show as drafts that grow, then become messages. The
subscribers keep running until Ctrl-C, so writes made with the printed calls show up too. A failing demo prints
one line; the services keep running.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterable
from typing import Any

import grpc.aio
from rich.console import Console
from rich.text import Text

from ameide_cli.dev_output import WIDTH, Endpoints
from ameide_cli.errors import first_line
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as arts
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.live.v1 import live_types_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2 as chats
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_sdk import AmeideClient

COMPLETE = "demo complete"
WAIT_FOR_UPDATES = 60.0
BPMN_MIME = "application/bpmn+xml"
# The updates the flow causes on the two feeds, in the order they are committed.
EXPECTED = (("artifact", "threads_added"), ("chat", "message"), ("chat", "relation"), ("artifact", "content_updated"))
PresenceKind = live_types_pb2.PresenceChange.Kind


def bpmn(*, with_approval: bool) -> bytes:
    """A small BPMN 2.0 process: order received -> (approve ->) ship -> done."""
    approval = '<bpmn:userTask id="approve" name="Approve order"/>' if with_approval else ""
    first = "approve" if with_approval else "ship"
    flows = [("f1", "start", first), ("f2", "ship", "end")]
    if with_approval:
        flows.insert(1, ("f3", "approve", "ship"))
    arrows = "".join(f'<bpmn:sequenceFlow id="{i}" sourceRef="{s}" targetRef="{t}"/>' for i, s, t in flows)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="orders" '
        'targetNamespace="https://ameide.io/demo">'
        '<bpmn:process id="order_process" name="Order Process" isExecutable="false">'
        '<bpmn:startEvent id="start" name="Order received"/>'
        f'{approval}<bpmn:serviceTask id="ship" name="Ship order"/>'
        f'<bpmn:endEvent id="end" name="Order shipped"/>{arrows}'
        "</bpmn:process></bpmn:definitions>\n"
    ).encode()


class Printer:
    """The demo's lines: what it calls, what it reads, and (highlighted) what the live subscribers receive."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()

    def _line(self, marker: str, text: str, style: str) -> None:
        prefix = Text(f"{'demo':>{WIDTH}} │ ", style="bold blue")
        self.console.print(prefix + Text(f"{marker} ", style=style) + Text(text, style=style))

    def call(self, text: str) -> None:
        """A call the demo made, and its answer."""
        self._line("→", text, "cyan")

    def note(self, text: str) -> None:
        """Context for the reader."""
        self._line("·", text, "dim")

    def live(self, feed: str, text: str) -> None:
        """An update a live subscriber received."""
        elapsed = time.monotonic() - self.started
        self._line("⚡", f"[{elapsed:6.2f}s] live {feed:<8} {text}", "bold green")

    def done(self, text: str) -> None:
        """The end of the scripted flow."""
        self._line("✔", text, "bold green")

    def fail(self, text: str) -> None:
        """The demo stopped early."""
        self._line("✘", text, "bold red")


def _relation(value: int) -> str:
    return types.RelationType.Name(value).removeprefix("RELATION_TYPE_")  # type: ignore[arg-type]


def _message_text(message: types.ChatMessage) -> str:
    return " ".join(part.text.text for part in message.parts if part.WhichOneof("kind") == "text")


def describe_signal(update: chats.ChatUpdate) -> str | None:
    """One line for a live signal worth printing (a delta only when it is the draft's first)."""
    kind = update.WhichOneof("update")
    if kind == "draft_started":
        return f"draft by agent {update.draft_started.agent_id} started: {update.draft_started.draft_id}"
    if kind == "draft_delta":
        delta = update.draft_delta
        return f'draft growing, delta {delta.seq}: "{delta.text.strip()}" ...' if delta.seq == 1 else None
    if kind == "draft_completed":
        done = update.draft_completed
        return f"draft {done.draft_id} became message #{done.message_sequence}"
    if kind == "draft_abandoned":
        return f"draft {update.draft_abandoned.draft_id} abandoned"
    if kind == "presence_changed":
        change = update.presence_changed
        return f"presence: {change.participant.user_id} {PresenceKind.Name(change.kind).removeprefix('KIND_').lower()}"
    return None


def describe_chat_update(update: chats.ChatUpdate, titles: dict[str, str]) -> str | None:
    """One line for a chat update (None for a signal not worth a line)."""
    kind = update.WhichOneof("update")
    if kind is not None and kind.startswith(("draft_", "presence_")):
        return describe_signal(update)
    if kind == "message":
        m = update.message
        return f'message #{m.sequence} from {m.role} {m.user_id}: "{_message_text(m)}"'
    if kind == "relation":
        r = update.relation
        return f'artifact linked: "{titles.get(r.artifact_id, r.artifact_id)}" ({_relation(r.type)})'
    if kind == "state_changed":
        return f'{update.state_changed.field} changed: "{update.state_changed.threads.title}"'
    if kind == "relation_removed":
        return f"artifact unlinked: {update.relation_removed.artifact_id}"
    return str(kind)


def describe_artifact_update(update: arts.ArtifactUpdate) -> str:
    """One line for an artifact update."""
    kind = update.WhichOneof("update")
    if kind == "threads_added":
        ref = update.threads_added
        title = f'"{ref.threads_title}" ' if ref.threads_title else ""
        return f"chat linked: {title}{ref.threads_id} ({_relation(ref.relation_type)})"
    if kind == "content_updated":
        body = update.content_updated.body
        tasks = body.count(b"Task ")
        return f"content v{update.version}: {update.content_updated.mime_type}, {len(body):,} bytes, {tasks} tasks"
    if kind == "metadata_changed":
        return f'metadata v{update.version}: title "{update.metadata_changed.title}"'
    if kind == "threads_removed":
        return f"chat unlinked: {update.threads_removed.threads_id}"
    return str(kind)


class Watch:
    """Follows the two subscriptions, prints every update, and tells when the flow's updates have all arrived."""

    def __init__(self, printer: Printer, titles: dict[str, str]) -> None:
        self.printer = printer
        self.titles = titles
        self.seen: list[tuple[str, str]] = []
        self._changed = asyncio.Event()

    async def follow(self, feed: str, updates: AsyncIterable[Any]) -> None:
        """Print each update of one feed as it arrives."""
        async for update in updates:
            chat = feed == "chat"
            text = describe_chat_update(update, self.titles) if chat else describe_artifact_update(update)
            if text is not None:
                self.printer.live(feed, text)
            self.seen.append((feed, str(update.WhichOneof("update"))))
            self._changed.set()

    def missing(self) -> list[tuple[str, str]]:
        """The expected updates not received yet."""
        left = list(self.seen)
        missing = []
        for item in EXPECTED:
            if item in left:
                left.remove(item)
            else:
                missing.append(item)
        return missing

    async def all_arrived(self) -> bool:
        """Wait (at most ``WAIT_FOR_UPDATES`` seconds) until every expected update arrived."""
        try:
            async with asyncio.timeout(WAIT_FOR_UPDATES):
                while self.missing():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            return False
        return True


async def run(endpoints: Endpoints, console: Console, stop: asyncio.Event) -> None:
    """Run the demo flow, then keep the subscribers printing until ``stop`` is set. Never raises."""
    printer = Printer(console)
    tasks: list[asyncio.Task[None]] = []
    halted = asyncio.create_task(stop.wait())
    try:
        async with AmeideClient(endpoints.command, query_target=endpoints.query, token=endpoints.token) as client:
            # Ctrl-C during the flow ends it at once (rather than after the SDK's retries against stopping services).
            flow = asyncio.create_task(_flow(client, printer, tasks, endpoints))
            await asyncio.wait((flow, halted), return_when=asyncio.FIRST_COMPLETED)
            if not flow.done():
                flow.cancel()
                await asyncio.gather(flow, return_exceptions=True)
                return
            flow.result()
            await halted
    except grpc.aio.AioRpcError as exc:
        printer.fail(f"demo stopped: {exc.code().name}: {exc.details()}; the services keep running")
    except Exception as exc:  # noqa: BLE001 - the demo is an add-on: whatever fails, the services keep running
        printer.fail(f"demo stopped: {first_line(exc)}; the services keep running")
    finally:
        halted.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(halted, *tasks, return_exceptions=True)


async def _seed(client: AmeideClient, printer: Printer) -> tuple[arts.CreateArtifactResponse, str]:
    printer.note("seeding the dev tenant: a BPMN diagram and a policy document (caller = the dev token's user)")
    diagram = await client.artifact_commands.CreateArtifact(
        arts.CreateArtifactRequest(
            title="Order Process",
            kind="bpmn",
            metadata={"team": "sales"},
            content=art_types.ArtifactContent(mime_type=BPMN_MIME, body=bpmn(with_approval=False)),
            idempotency_key=str(uuid.uuid4()),
        )
    )
    policy = await client.artifact_commands.CreateArtifact(
        arts.CreateArtifactRequest(
            title="Shipping Policy",
            kind="document",
            content=art_types.ArtifactContent(
                mime_type="text/markdown", body=b"# Shipping\nOrders over 1,000 EUR need approval.\n"
            ),
        )
    )
    printer.call(f'CreateArtifact "Order Process" (bpmn) -> {diagram.artifact_id} v{diagram.version}')
    printer.call(f'CreateArtifact "Shipping Policy" (document) -> {policy.artifact_id}')
    return diagram, policy.artifact_id


async def _flow(client: AmeideClient, printer: Printer, tasks: list[asyncio.Task[None]], endpoints: Endpoints) -> None:
    diagram, policy_id = await _seed(client, printer)
    titles = {diagram.artifact_id: "Order Process", policy_id: "Shipping Policy"}
    watch = Watch(printer, titles)
    loaded = await client.artifact_queries.GetArtifact(
        arts.GetArtifactRequest(artifact_id=diagram.artifact_id, consistency_token=diagram.consistency_token)
    )
    body = loaded.artifact.content.body
    printer.call(
        f"GetArtifact -> v{loaded.artifact.version}, {len(body):,} bytes of BPMN XML; subscribing from its checkpoint"
    )
    artifact_feed = client.subscribe_artifact(diagram.artifact_id, resume_token=loaded.checkpoint_token)
    tasks.append(asyncio.create_task(watch.follow("artifact", artifact_feed)))

    helper = client.threads_artifact
    first = await helper.send_message_from_artifact(diagram.artifact_id, "Walk me through this process, please.")
    printer.call(
        f"EnsureChatForArtifactAndSendMessage -> chat {first.threads_id} "
        f"(is_new_chat={first.is_new_chat}), message {first.message_id}"
    )
    page = await client.threads_queries.GetMessages(
        chats.GetMessagesRequest(threads_id=first.threads_id, consistency_token=first.consistency_token)
    )
    printer.call(f"GetMessages -> {page.total_count} message(s); subscribing to the chat from its checkpoint")
    chat_feed = client.subscribe_chat(first.threads_id, resume_token=page.checkpoint_token, include_signals=True)
    tasks.append(asyncio.create_task(watch.follow("chat", chat_feed)))

    second = await helper.send_message_from_artifact(
        diagram.artifact_id, "Add an approval step before shipping.", threads_id=first.threads_id
    )
    printer.call(f"EnsureChatForArtifactAndSendMessage (same chat) -> is_new_chat={second.is_new_chat}")
    await client.threads_commands.AssociateArtifact(
        chats.AssociateChatArtifactRequest(
            threads_id=first.threads_id, artifact_id=policy_id, relation_type=types.RELATION_TYPE_REFERENCED
        )
    )
    printer.call('AssociateArtifact "Shipping Policy" -> linked (REFERENCED)')
    updated = await client.artifact_commands.UpdateArtifactContent(
        arts.UpdateArtifactContentRequest(
            artifact_id=diagram.artifact_id,
            content=art_types.ArtifactContent(mime_type=BPMN_MIME, body=bpmn(with_approval=True)),
            threads_id=first.threads_id,
            # The version read above still holds: the chats linked since then are no new versions.
            expected_version=loaded.artifact.version,
        )
    )
    printer.call(f"UpdateArtifactContent (approval task added) -> v{updated.version}")

    if not await watch.all_arrived():
        missing = ", ".join(f"{feed} {kind}" for feed, kind in watch.missing())
        printer.fail(f"demo incomplete: no live update for {missing} within {WAIT_FOR_UPDATES:.0f}s")
        return
    printer.done(f"{COMPLETE}: {len(EXPECTED)} live updates arrived")
    printer.note(f"chat {first.threads_id} and artifact {diagram.artifact_id} stay in the dev database")
    printer.note(
        f"the subscribers keep running: send to the chat (calls above, token of {endpoints.user_id}) to see it here"
    )
    printer.note("the demo agent answers every message of this chat with a draft that streams, then becomes a message")
    printer.note("Ctrl-C stops everything")
