"""Static checks of the documentation's shell examples: they parse, and what they call exists.

An example is parsed by ``bash -n``, then run by bash with an empty ``PATH``: bash itself expands its variables,
quotes, functions and command substitutions, and every external command it would start is recorded (its argv)
instead of run; a recorded command prints ``0`` (``base64`` prints ``AAAA``), so what captures its output goes on.
Each recorded command is then checked against the product: ``ameide`` arguments with the CLI's own parsers, ``tox
-e`` environments with tox.ini, ``npm`` scripts with package.json, ``pip install`` extras with pyproject.toml,
``python -c`` code by compiling it, and ``buf curl`` calls by their RPC (it must exist) and ``--data`` (it must be
a valid JSON form of that RPC's request). Tools the product does not ship (kubectl, helm, jq, ...) are only
parsed. Running the examples for real is the TypeScript SDK's end-to-end suite (docs/examples.md).
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import importlib
import importlib.util
import io
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from ameide_cli import delegates
from ameide_cli.main import build_parser
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2
from ameide_core_proto.live.v1 import live_service_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2
from tests.support.doc_blocks import ROOT, Example

# Programs the examples may name that the product does not ship: their arguments are not checked.
EXTERNAL = frozenset({"base64", "helm", "jq", "kubectl", "openssl"})
# Values of the documented shell variables while checking (any chat and artifact id will do).
SAMPLE_ENV = {"CHAT": "0b9f6f7e-3c1d-4f57-8a2e-1d2c3b4a5f60", "ARTIFACT": "7f1c1a52-0d4f-4a3e-9d55-6f0c2b8e9a10"}
_STUB_OUTPUT = {"base64": "AAAA"}
_END = "\x01"

_RECORDER = r"""
command_not_found_handle() {
  { printf '%s\0' "$@"; printf '\001'; } >> "$AMEIDE_EXAMPLE_RECORD"
  case "$1" in base64) echo AAAA ;; *) echo 0 ;; esac
  return 0
}
"""

_SERVICES = {
    service.full_name: service
    for module in (threads_service_pb2, artifacts_service_pb2, live_service_pb2)
    for service in module.DESCRIPTOR.services_by_name.values()
}


def script_of(example: Example, prelude: Sequence[Example] = ()) -> str:
    """What one shell example runs: the preludes of its folder, then its own code."""
    return "".join(block.code for block in prelude) + example.code


def problems(example: Example, prelude: Sequence[Example] = ()) -> list[str]:
    """What is wrong with a shell example (empty when nothing is)."""
    script = script_of(example, prelude)
    bash = shutil.which("bash") or "/bin/bash"
    syntax = subprocess.run([bash, "-n", "-c", script], capture_output=True, text=True, check=False)  # noqa: S603 - our own documentation
    if syntax.returncode != 0:
        return [f"{example.where}: does not parse: {syntax.stderr.strip()}"]
    folder = ROOT / Path(example.path).parent
    return [f"{example.where}: {issue}" for argv in recorded_commands(script) for issue in _check(argv, folder)]


def recorded_commands(script: str) -> list[list[str]]:
    """The external commands ``script`` starts, as bash expands them, without starting any."""
    bash = shutil.which("bash") or "/bin/bash"
    with tempfile.TemporaryDirectory(prefix="ameide-shell-check-") as scratch:
        record = Path(scratch) / "commands"
        record.touch()
        env = {"PATH": str(Path(scratch) / "no-programs"), "HOME": scratch, **SAMPLE_ENV}
        env["AMEIDE_EXAMPLE_RECORD"] = str(record)
        subprocess.run(  # noqa: S603 - our own documentation, with no program to start
            [bash, "--noprofile", "--norc", "-c", _RECORDER + script],
            cwd=scratch,
            env=env,
            capture_output=True,
            check=False,
            timeout=60,
        )
        raw = record.read_bytes().decode()
    return [entry.split("\0")[:-1] for entry in raw.split(_END) if entry]


def _check(argv: list[str], folder: Path) -> list[str]:
    program, args = Path(argv[0]).name, argv[1:]
    checks: dict[str, Callable[[list[str], Path], list[str]]] = {
        "ameide": _ameide,
        "tox": _tox,
        "npm": _npm,
        "npx": _npx,
        "python": _python,
        "python3": _python,
    }
    if program in checks:
        return checks[program](args, folder)
    if program in EXTERNAL:
        return []
    return [
        f"'{program}' is neither a command the checks know nor a listed external tool (tests/support/shell_check.py)"
    ]


def _parse_errors(parser: argparse.ArgumentParser, args: list[str]) -> list[str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args(args)
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                return [err.getvalue().strip() or f"{parser.prog}: rejected {args}"]
    return []


def _ameide(args: list[str], _folder: Path) -> list[str]:
    delegated = delegates.split(args)
    if delegated is None:
        return [f"ameide {' '.join(args)}: {issue}" for issue in _parse_errors(build_parser(), args)]
    command, rest = delegated
    for module_name in delegates.DELEGATES[command]:
        with contextlib.suppress(ModuleNotFoundError):
            parser_of = getattr(importlib.import_module(module_name), "build_parser", None)
            if parser_of is not None:
                return [f"ameide {command}: {issue}" for issue in _parse_errors(parser_of(), rest)]
    return []


def _tox(args: list[str], _folder: Path) -> list[str]:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini")
    known = {section.removeprefix("testenv:") for section in config.sections() if section.startswith("testenv:")}
    known |= set(config.get("tox", "env_list", fallback="").split())
    wanted = [name for flag, value in itertools.pairwise(args) if flag == "-e" for name in value.split(",")]
    return [f"tox -e {name}: no such environment in tox.ini" for name in wanted if name not in known]


def _npm(args: list[str], folder: Path) -> list[str]:
    manifest = _nearest(folder, "package.json")
    if manifest is None:
        return ["npm: no package.json in or above the document's folder"]
    scripts = json.loads(manifest.read_text(encoding="utf-8")).get("scripts", {})
    if args[:1] == ["run"] and len(args) > 1:
        script = args[1]
    elif args[:1] in (["test"], ["start"]):
        script = args[0]
    else:
        return []
    return [] if script in scripts else [f"npm run {script}: no such script in {manifest.relative_to(ROOT)}"]


def _python(args: list[str], folder: Path) -> list[str]:
    if args[:2] == ["-m", "pip"]:
        return _pip_extras(args)
    if args[:1] == ["-c"] and len(args) > 1:
        try:
            compile(args[1], "<python -c>", "exec")
        except SyntaxError as exc:
            return [f"python -c: {exc}"]
        return []
    if args[:1] == ["-m"] and len(args) > 1:
        return [] if importlib.util.find_spec(args[1]) else [f"python -m {args[1]}: no such module"]
    if args and args[0].endswith(".py"):
        return [] if (folder / args[0]).is_file() else [f"python {args[0]}: no such file"]
    return []


def _pip_extras(args: list[str]) -> list[str]:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"].get(
        "optional-dependencies", {}
    )
    found = []
    for arg in args:
        match = re.fullmatch(r"\.\[(?P<names>[\w,-]+)\]", arg)
        if match:
            found += [
                f"pip install {arg}: no extra '{name}'" for name in match["names"].split(",") if name not in extras
            ]
    return found


def _npx(args: list[str], _folder: Path) -> list[str]:
    if args[:2] != ["@bufbuild/buf", "curl"]:
        return [] if args[:1] == ["@bufbuild/buf"] else [f"npx {' '.join(args[:1])}: not a package the docs use"]
    url = next((arg for arg in args if arg.startswith(("http://", "https://"))), None)
    if url is None:
        return ["buf curl: no URL"]
    path = re.sub(r"^https?://[^/]+", "", url).strip("/")
    if not path:
        return [] if "--list-methods" in args or "--list-services" in args else ["buf curl: no method in the URL"]
    return _buf_call(path, _flag(args, "--data", "-d"))


def _buf_call(path: str, data: str | None) -> list[str]:
    """A buf curl call of ``path`` (``package.Service/Method``) with ``data`` as its request."""
    method = _method(path)
    if method is None:
        return [f"buf curl: no RPC {path}"]
    if data is None:
        return []
    request: Message = message_factory.GetMessageClass(method.input_type)()
    try:
        json_format.Parse(data, request)
    except json_format.ParseError as exc:
        return [f"buf curl {method.name}: --data is not a {method.input_type.name}: {exc}"]
    return []


def _method(path: str) -> MethodDescriptor | None:
    service_name, _, method_name = path.partition("/")
    service = _SERVICES.get(service_name)
    return service.methods_by_name.get(method_name) if service is not None else None


def _flag(args: list[str], *names: str) -> str | None:
    for index, arg in enumerate(args):
        if arg in names and index + 1 < len(args):
            return args[index + 1]
        for name in names:
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


def _nearest(folder: Path, name: str) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / name).is_file():
            return candidate / name
        if candidate == ROOT:
            break
    return None


def preludes(examples: Sequence[Example]) -> dict[str, list[Example]]:
    """The ``prelude`` shell blocks of each folder (they run before its other documents' shell examples)."""
    found: dict[str, list[Example]] = {}
    for example in examples:
        if example.lang == "bash" and example.mode == "prelude":
            found.setdefault(str(Path(example.path).parent), []).append(example)
    return found


def prelude_of(example: Example, by_folder: dict[str, list[Example]]) -> list[Example]:
    """The preludes an example runs after (a prelude itself runs alone)."""
    if example.mode == "prelude":
        return []
    return by_folder.get(str(Path(example.path).parent), [])
