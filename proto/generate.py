"""Regenerate the Python code of the wire contract: the only codegen entry point.

The proto tree mirrors the Python import path (``proto/ameide_core_proto/threads/v1/...`` is the module
``ameide_core_proto.threads.v1``), so protoc's imports are right as generated and need no rewriting.
Run ``python proto/generate.py``; ``tox -e codegen`` runs it and fails on any diff.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
PACKAGE = PROTO_ROOT / "ameide_core_proto"


def main() -> int:
    """Run protoc over every .proto file and write the ``__init__.py`` files."""
    for stale in PACKAGE.rglob("*_pb2*.py*"):
        stale.unlink()
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in PACKAGE.rglob("*.proto"))
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--proto_path={well_known}",
        f"--python_out={PROTO_ROOT}",
        f"--grpc_python_out={PROTO_ROOT}",
        f"--mypy_out={PROTO_ROOT}",
        f"--mypy_grpc_out={PROTO_ROOT}",
        *sources,
    ]
    code = protoc.main(args)
    if code != 0:
        return int(code)
    for folder in [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir())]:
        if folder.name != "__pycache__":
            (folder / "__init__.py").touch()
    (PACKAGE / "py.typed").touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
