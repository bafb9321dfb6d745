"""Types shared by the subcommand modules."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeAlias

# argparse exposes no public name for the object add_subparsers() returns.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # noqa: SLF001
Handler: TypeAlias = Callable[[argparse.Namespace, Mapping[str, str]], int]
DelegateMain: TypeAlias = Callable[[list[str]], "int | None"]
# The deployables' composition roots, each taking its own settings; the app's shape is the documented duck type
# (see ameide_cli.serve).
Bootstrap: TypeAlias = Callable[[Any], AbstractAsyncContextManager[Any]]
