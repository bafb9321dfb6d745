"""Subcommands implemented in other packages: ``bench``, ``import-legacy`` and ``projector rebuild``.

Each is a thin dispatcher: the remaining arguments go to ``main(argv: list[str]) -> int`` of the implementing
module, imported only when the subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Mapping, Sequence

from ameide_cli.commands import DelegateMain, Handler, Subparsers
from ameide_cli.errors import CliError

DELEGATES: dict[str, tuple[str, ...]] = {
    "bench": ("ameide_bench.cli",),
    "import-legacy": ("ameide_cli.legacy.cli", "ameide_cli.legacy"),
    "projector rebuild": ("ameide_projector.rebuild",),
}


def register(subparsers: Subparsers) -> None:
    """Add ``bench``, ``import-legacy`` and ``projector rebuild``."""
    bench = subparsers.add_parser("bench", help="run the benchmark scenarios", add_help=False)
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(handler=_dispatcher("bench"))
    legacy = subparsers.add_parser("import-legacy", help="import chats from the legacy database", add_help=False)
    legacy.add_argument("rest", nargs=argparse.REMAINDER)
    legacy.set_defaults(handler=_dispatcher("import-legacy"))
    projector = subparsers.add_parser("projector", help="projector maintenance")
    actions = projector.add_subparsers(dest="action", required=True, metavar="ACTION")
    rebuild = actions.add_parser("rebuild", help="rebuild the read model from the event store", add_help=False)
    rebuild.add_argument("rest", nargs=argparse.REMAINDER)
    rebuild.set_defaults(handler=_dispatcher("projector rebuild"))


def split(argv: Sequence[str]) -> tuple[str, list[str]] | None:
    """``(command, its own arguments)`` when ``argv`` names a delegated command, else ``None``.

    Matched before argparse runs, so the delegate parses every flag itself (argparse.REMAINDER would not
    capture leading options such as ``--quick``).
    """
    for command in DELEGATES:
        words = command.split()
        if list(argv[: len(words)]) == words and "-h" not in argv[: len(words)]:
            return command, list(argv[len(words) :])
    return None


def run(command: str, argv: list[str]) -> int:
    """Run a delegated command with its own arguments."""
    return int(resolve(command)(argv) or 0)


def resolve(command: str) -> DelegateMain:
    """The ``main`` function implementing ``command``; a clear error when its package is not installed."""
    for module_name in DELEGATES[command]:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue
            raise
        main: DelegateMain | None = getattr(module, "main", None)
        if main is not None:
            return main
    raise CliError(f"'ameide {command}' is not installed yet ({' or '.join(DELEGATES[command])} missing)")


def _dispatcher(command: str) -> Handler:
    def handler(args: argparse.Namespace, _environ: Mapping[str, str]) -> int:
        rest: Sequence[str] = args.rest
        return run(command, list(rest))

    return handler
