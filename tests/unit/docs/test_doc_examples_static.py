"""The documentation's examples without the services: markup, shell examples, Python examples that only compile.

The examples that run are run by tests/e2e/docs (Python) and the TypeScript SDK's suite (TypeScript and shell).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ameide_sdk
from tests.support.doc_blocks import (
    Example,
    ExampleMarkupError,
    all_markdown_examples,
    docstring_examples,
    markdown_examples,
)
from tests.support.shell_check import prelude_of, preludes, problems, recorded_commands

pytestmark = pytest.mark.unit

EXAMPLES = all_markdown_examples()
SHELL = [example for example in EXAMPLES if example.lang == "bash"]
PRELUDES = preludes(EXAMPLES)


@pytest.mark.parametrize("example", SHELL, ids=lambda example: example.where)
def test_shell_example_parses_and_names_what_exists(example: Example) -> None:
    """Every shell example: bash parses it; its ameide, tox, npm, python and buf curl calls are valid."""
    assert problems(example, prelude_of(example, PRELUDES)) == []


@pytest.mark.parametrize(
    "example",
    [e for e in EXAMPLES if e.lang == "python" and e.mode == "static"],
    ids=lambda example: example.where,
)
def test_static_python_example_compiles(example: Example) -> None:
    """A Python example marked static (a fragment of an internal API) is at least valid Python."""
    compile(example.padded(), example.path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_every_kind_of_example_is_found() -> None:
    """The documents hold runnable Python, TypeScript and shell examples, and the SDK's docstrings Python ones."""
    kinds = {(example.lang, example.mode) for example in EXAMPLES}
    assert {("python", "run"), ("ts", "run"), ("bash", "run"), ("bash", "stream"), ("bash", "prelude")} <= kinds
    assert {e.path for e in docstring_examples(ameide_sdk)} >= {"libs/sdk/src/ameide_sdk/client.py"}


class TestMarkup:
    """How blocks are read from a document."""

    def test_language_mode_and_lines(self, tmp_path: Path) -> None:
        """The info string gives the language and mode; the line is the first code line; indentation is removed."""
        doc = tmp_path / "guide.md"
        doc.write_text(
            "# Guide\n\n```python\nprint(1)\n```\n\n- a step:\n\n  ```bash static\n  tox -e lint\n  ```\n\n"
            "```text\nnot an example\n```\n\n```\nnor this\n```\n",
            encoding="utf-8",
        )

        found = markdown_examples(doc, tmp_path)

        assert [(e.where, e.lang, e.mode, e.code) for e in found] == [
            ("guide.md:4", "python", "run", "print(1)\n"),
            ("guide.md:10", "bash", "static", "tox -e lint\n"),
        ]

    @pytest.mark.parametrize("info", ["python skip", "bash statik", "ts static", "python run now"])
    def test_an_unknown_mode_is_an_error_not_a_skipped_example(self, tmp_path: Path, info: str) -> None:
        """A typo in the mode word never turns an example off silently."""
        doc = tmp_path / "guide.md"
        doc.write_text(f"```{info}\nx = 1\n```\n", encoding="utf-8")

        with pytest.raises(ExampleMarkupError, match=r"guide\.md:1"):
            markdown_examples(doc, tmp_path)


def _example(code: str, path: str = "docs/api/guide.md") -> Example:
    return Example(path, 1, "bash", "run", code)


class TestABrokenShellExampleIsCaught:
    """Each kind of drift in a shell example is reported with where it is written."""

    @pytest.mark.parametrize(
        ("code", "complaint"),
        [
            ("ameide token --user alice --tenant acme --forever\n", "unrecognized arguments: --forever"),
            ("ameide serve gateway\n", "invalid choice: 'gateway'"),
            ("ameide bench --fast\n", "unrecognized arguments: --fast"),
            ("tox -e docs\n", "tox -e docs: no such environment"),
            ("python -m pip install -e '.[docs]'\n", "no extra 'docs'"),
            ("python -c 'print(('\n", "python -c"),
            ("unzip chats.zip\n", "'unzip' is neither"),
            ("if true; then echo\n", "does not parse"),
        ],
    )
    def test_commands(self, code: str, complaint: str) -> None:
        """A flag, subcommand, tox environment, extra or program that does not exist; a syntax error."""
        [problem] = problems(_example(code))

        assert problem.startswith("docs/api/guide.md:1: ")
        assert complaint in problem

    @pytest.mark.parametrize(
        ("rpc", "data", "complaint"),
        [
            ("ChatQueryService/FetchChat", "{}", "no RPC ameide_core_proto.threads.v1.ChatQueryService/FetchChat"),
            ("ChatQueryService/GetChat", '{"threadId": "x"}', "--data is not a GetChatRequest"),
            ("ChatQueryService/ListChats", '{"pageSize": "many"}', "--data is not a ListChatsRequest"),
        ],
    )
    def test_buf_curl_calls(self, rpc: str, data: str, complaint: str) -> None:
        """An RPC that does not exist, or a request whose JSON does not fit the message."""
        code = (
            "npx @bufbuild/buf curl --protocol grpc --http2-prior-knowledge "
            f"--data '{data}' http://127.0.0.1:50052/ameide_core_proto.threads.v1.{rpc}\n"
        )

        [problem] = problems(_example(code))

        assert complaint in problem

    def test_a_prelude_function_is_expanded_before_checking(self) -> None:
        """A call through the guides' helper is checked as the buf curl call it expands to."""
        [prelude] = [e for e in all_markdown_examples() if e.mode == "prelude"]
        rpc = "127.0.0.1:50052/ameide_core_proto.threads.v1.ChatQueryService/GetChat"
        call = f"buf_call {rpc} '{{\"chatId\": \"'$CHAT'\"}}'\n"

        [problem] = problems(_example(call, prelude.path), [prelude])

        assert "--data is not a GetChatRequest" in problem


def test_nothing_is_run_while_checking(tmp_path: Path) -> None:
    """The recorder starts no program: a command that would write a file writes nothing."""
    target = tmp_path / "written"

    commands = recorded_commands(f"touch {target}\nmkdir -p {tmp_path / 'dir'}\n")

    assert commands == [["touch", str(target)], ["mkdir", "-p", str(tmp_path / "dir")]]
    assert not target.exists()
