"""The layering contracts (pyproject's [tool.importlinter]) hold, and each one fails on a planted forbidden import.

Run by ``tox -e lint``. First ``lint-imports`` checks the source tree; then, in a scratch copy of the package roots,
one forbidden import per contract is planted and ``lint-imports --contract <id>`` must report that contract
broken, so a contract that could never fail (a typo in a module name, a layer that matches nothing) fails here.
The package roots are mypy's ``mypy_path`` (the same list every tool reads). The TypeScript SDK, which
import-linter cannot read, is held to the same rule here: its sources import only their own modules (the contract's
generated code among them, never a path outside ``sdk/ts/src``), Node's built-ins, and the runtime packages its
``package.json`` declares (dependencies and peer dependencies: protobuf, Connect, React for its bindings).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# contract id -> (module file under a package root, the forbidden import planted in it)
PLANTED: dict[str, tuple[str, str]] = {
    "domain-pure": ("ameide_command/domain/model.py", "import ameide_runtime.errors"),
    "projections-pure": ("ameide_projector/projections/envelope.py", "import psycopg"),
    "command-layers": ("ameide_command/application/plan.py", "import ameide_command.entrypoints.errors"),
    "query-layers": ("ameide_query/views/pages.py", "import ameide_query.reads.common"),
    "projector-layers": ("ameide_projector/read_model/blue_green.py", "import ameide_projector.runner"),
    "query-reads-only": ("ameide_query/paging.py", "import ameide_projector.metrics"),
    "deployables-independent": ("ameide_projector/wake.py", "import ameide_command.config"),
    "libraries-below-services": ("ameide_runtime/identity.py", "import ameide_cli.errors"),
    "readmodel-shared-contract": ("ameide_readmodel/feed/keys.py", "import redis"),
    "migrations-frozen": ("ameide_migrations/__init__.py", "import ameide_readmodel.schema"),
    "sdk-contract-only": ("ameide_sdk/errors.py", "import ameide_runtime.errors"),
}


TS_SDK = ROOT / "sdk" / "ts" / "src"
_TS_IMPORT = re.compile(
    r"""(?:^|\s)(?:import|export)\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]"""  # import / export ... from "x"
    r"""|^\s*import\s+['"]([^'"]+)['"]""",  # import "x" (side effects only)
    re.MULTILINE,
)


def _ts_packages(sources: Path) -> set[str]:
    """The packages the SDK declares it runs with (dependencies and peer dependencies)."""
    manifest = json.loads((sources.parent / "package.json").read_text(encoding="utf-8"))
    return {name for key in ("dependencies", "peerDependencies") for name in manifest.get(key, {})}


def _ts_package_of(target: str) -> str:
    """``@scope/name`` or ``name`` of a bare import (``@bufbuild/protobuf/wkt`` -> ``@bufbuild/protobuf``)."""
    parts = target.split("/")
    return "/".join(parts[:2]) if target.startswith("@") else parts[0]


def _check_ts_sdk(sources: Path = TS_SDK) -> list[str]:
    """Imports of the TypeScript SDK's sources that reach outside it or name an undeclared package."""
    packages = _ts_packages(sources)
    found: list[str] = []
    for source in sorted(sources.rglob("*.ts")):
        for match in _TS_IMPORT.finditer(source.read_text(encoding="utf-8")):
            target = match.group(1) or match.group(2)
            if target.startswith("."):
                allowed = (source.parent / target).resolve().is_relative_to(sources.resolve())
            else:
                allowed = target.startswith("node:") or _ts_package_of(target) in packages
            if not allowed:
                found.append(f"{source.relative_to(sources.parent)} imports {target}")
    return found


def _config() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def _lint_imports(roots: list[Path], cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    args = [str(lint_imports), "--no-cache", *(f"--contract={c}" for c in contracts)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, roots)), "COLUMNS": "200"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - our tool


def _check_tree(roots: list[Path]) -> bool:
    result = _lint_imports(roots, ROOT)
    print(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr)
    if result.returncode:
        print(result.stdout, result.stderr, sep="\n")
    return result.returncode == 0


def _check_planted(roots: list[Path], contracts: list[str]) -> list[str]:
    """Ids of contracts that did not fail on their planted import (or have none planted)."""
    missing = sorted(set(contracts) - set(PLANTED))
    with tempfile.TemporaryDirectory(prefix="ameide-contracts-") as scratch:
        base = Path(scratch)
        copies = [base / str(index) for index, _ in enumerate(roots)]
        for root, copy in zip(roots, copies, strict=True):
            shutil.copytree(root, copy, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "pyproject.toml", base / "pyproject.toml")
        silent: list[str] = []
        for contract, (module, line) in PLANTED.items():
            target = next(copy / module for copy in copies if (copy / module).exists())
            original = target.read_text(encoding="utf-8")
            target.write_text(f"{original}\n{line}  # planted by tools/check_contracts.py\n", encoding="utf-8")
            try:
                result = _lint_imports(copies, base, contract)
            finally:
                target.write_text(original, encoding="utf-8")
            broken = result.returncode != 0 and "BROKEN" in result.stdout
            print(f"planted {line!r} in {module}: contract {contract} {'fails' if broken else 'DOES NOT FAIL'}")
            if not broken:
                silent.append(contract)
        return missing + silent


def _ts_check_bites() -> bool:
    """A planted import of the web app and one of an undeclared package are both reported."""
    with tempfile.TemporaryDirectory(prefix="ameide-ts-contract-") as scratch:
        sources = Path(scratch) / "src"
        shutil.copytree(TS_SDK, sources, ignore=shutil.ignore_patterns("gen"))
        shutil.copy(TS_SDK.parent / "package.json", sources.parent / "package.json")
        planted = sources / "planted.ts"
        planted.write_text('import { App } from "../../../web/src/app.js";\nimport x from "left-pad";\n', "utf-8")
        found = _check_ts_sdk(sources)
    bites = len(found) == 2  # noqa: PLR2004 - the two planted imports
    print(f"planted two foreign imports in the TypeScript SDK: {'both reported' if bites else 'NOT REPORTED'}")
    return bites


def main() -> int:
    """Check the tree, then that every contract bites."""
    config = _config()
    tool = config["tool"]
    assert isinstance(tool, dict)  # noqa: S101 - pyproject's shape
    roots = [ROOT / path for path in tool["mypy"]["mypy_path"]]
    contracts = [str(contract["id"]) for contract in tool["importlinter"]["contracts"]]
    if not _check_tree(roots):
        return 1
    foreign = _check_ts_sdk() if TS_SDK.is_dir() else []
    if foreign:
        print("the TypeScript SDK imports more than the contract:", *foreign, sep="\n  ")
        return 1
    failing = _check_planted(roots, contracts)
    if failing:
        print(f"contracts that a planted forbidden import did not break: {', '.join(failing)}")
        return 1
    if TS_SDK.is_dir() and not _ts_check_bites():
        return 1
    print(f"each of the {len(contracts)} contracts fails on a planted forbidden import")
    return 0


if __name__ == "__main__":
    sys.exit(main())
