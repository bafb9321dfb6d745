"""Every Python example of the documentation and of the SDK's docstrings runs against the real services.

The examples are found by ``tests.support.doc_blocks`` (docs/examples.md is the convention) and run by
``tests.support.doc_examples``: each on its own, with the documented names, in a working directory holding the
sample diagram. A failing example fails here with the document's file and line in its traceback.
"""

from __future__ import annotations

import traceback
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import ameide_sdk
from tests.support.doc_blocks import Example, all_markdown_examples, docstring_examples, markdown_examples
from tests.support.doc_examples import ExampleContext, example_context, live_feeds, run_python, write_sample_file
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

MARKDOWN = [e for e in all_markdown_examples() if e.lang == "python" and e.mode == "run"]
DOCSTRINGS = docstring_examples(ameide_sdk)


@pytest.fixture(name="context")
async def fixture_context(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ExampleContext]:
    """The documented names for a fresh caller in a fresh tenant; the working directory holds the sample file."""
    write_sample_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    token = stack.token(str(uuid.uuid4()), f"tenant-{uuid.uuid4()}")
    async with example_context(stack.command_target, stack.query_target, token) as context:
        with live_feeds(context.client):
            yield context


async def _run(example: Example, context: ExampleContext, stack: Stack) -> None:
    await run_python(example, context.namespace(), command_target=stack.command_target, query_target=stack.query_target)
    # The example got as far as its application code (e.g. apply(update) inside a subscription loop); one of
    # several branches is enough.
    called = [name for name in context.callbacks if f"{name}(" in example.code]
    assert not called or any(context.callbacks[name].calls for name in called), (
        f"{example.where}: never reached {called}"
    )


@pytest.mark.parametrize("example", MARKDOWN, ids=lambda example: example.where)
async def test_markdown_example(example: Example, context: ExampleContext, stack: Stack) -> None:
    """A ```python block of a document runs as written."""
    await _run(example, context, stack)


@pytest.mark.parametrize("example", DOCSTRINGS, ids=lambda example: example.where)
async def test_docstring_example(example: Example, context: ExampleContext, stack: Stack) -> None:
    """An ``Example::`` block of the SDK's public API runs as written."""
    await _run(example, context, stack)


def test_the_artifact_first_example_is_among_them() -> None:
    """AmeideClient's example (send, then follow the new chat) is collected, so it runs above."""
    client_examples = [e for e in DOCSTRINGS if e.path.endswith("ameide_sdk/client.py")]
    assert any("send_message_from_artifact" in e.code and "subscribe_chat" in e.code for e in client_examples)


IMPORT_CHATS = "from ameide_core_proto.threads.v1 import threads_service_pb2 as chats\n\n"


def _document_with(tmp_path: Path, code: str) -> Example:
    """The one example of a document holding ``code`` as a Python block after a heading and a sentence."""
    doc = tmp_path / "guide.md"
    doc.write_text(f"# Guide\n\nLoad the chat:\n\n```python\n{code}```\n", encoding="utf-8")
    [example] = markdown_examples(doc, tmp_path)
    return example


class TestABrokenExampleIsCaught:
    """An example that drifted from the code fails, and says where it is written."""

    async def test_a_renamed_method(self, context: ExampleContext, stack: Stack, tmp_path: Path) -> None:
        """A call of a method the client no longer has: AttributeError at the document's line."""
        example = _document_with(
            tmp_path, IMPORT_CHATS + "reply = await client.threads_queries.FetchChat(chats.GetChatRequest())\n"
        )

        with pytest.raises(AttributeError, match="FetchChat") as caught:
            await _run(example, context, stack)

        frame = traceback.extract_tb(caught.value.__traceback__)[-1]
        assert (frame.filename, frame.lineno) == ("guide.md", 8)

    async def test_a_field_the_request_does_not_have(
        self, context: ExampleContext, stack: Stack, tmp_path: Path
    ) -> None:
        """A request field that does not exist (or no longer does) fails the example."""
        example = _document_with(
            tmp_path, IMPORT_CHATS + "await client.threads_queries.GetChat(chats.GetChatRequest(thread_id=chat_id))\n"
        )

        with pytest.raises(ValueError, match="thread_id"):
            await _run(example, context, stack)

    async def test_a_server_error(self, context: ExampleContext, stack: Stack, tmp_path: Path) -> None:
        """An example the server refuses (here: an id that is not a UUID) fails with the server's error."""
        example = _document_with(
            tmp_path, IMPORT_CHATS + 'await client.threads_queries.GetChat(chats.GetChatRequest(threads_id="chat-1"))\n'
        )

        with pytest.raises(Exception, match="INVALID_ARGUMENT"):
            await _run(example, context, stack)
