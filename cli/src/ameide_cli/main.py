"""``ameide``: the one command of the distribution.

Every subcommand module offers ``register(subparsers)`` and a handler ``(args, environ) -> exit code``. The
environment is read here, once. Expected failures (bad flags, bad settings, unreachable stores) print one line
and exit non-zero; only a bug prints a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from ameide_cli import delegates, dev, dev_token, migrate, serve
from ameide_cli.errors import CliError, explain, first_line
from ameide_runtime.settings import SettingsError

USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """Argument errors in one line, pointing at --help, instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand."""
    parser = _Parser(prog="ameide", description="Ameide Threads: chats and artifacts over gRPC.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for module in (dev, serve, migrate, dev_token, delegates):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the ``ameide`` command; return its exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if environ is None else environ
    delegated = delegates.split(words)
    try:
        if delegated is not None:
            return delegates.run(*delegated)
        args = build_parser().parse_args(words)
        return int(args.handler(args, env))
    except KeyboardInterrupt:
        return 130
    except CliError as exc:
        return _fail(str(exc), exc.code)
    except SettingsError as exc:
        return _fail(f"invalid configuration: {exc}", USAGE_ERROR)
    except Exception as exc:
        explained = explain(exc)
        if explained is None:
            raise
        return _fail(str(explained), explained.code)


def _fail(message: str, code: int) -> int:
    print(f"ameide: {first_line(Exception(message))}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
