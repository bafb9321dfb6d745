"""The app bundle, loaded into memory at start: each file with its type, cache policy, ETag and gzip form.

Serving from memory keeps the request path free of the filesystem (no traversal, no partial reads while a new
bundle is written) and lets each response be prepared once. Bundles are small (a few hundred KB).

Cache policy: files under ``assets/`` carry a content hash in their names (``web/build.mjs``), so they are
immutable for a year; everything else, ``index.html`` first, must be revalidated (``no-cache`` + ETag), so a new
release is picked up on the next load.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

INDEX = "index.html"
HASHED_DIR = "assets"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
MIN_GZIP_BYTES = 512
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
_COMPRESSIBLE = frozenset({".html", ".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt"})


class BundleError(Exception):
    """The bundle directory is missing or has no index.html."""


@dataclass(frozen=True, slots=True)
class Asset:
    """One file, ready to send."""

    body: bytes
    gzipped: bytes | None
    content_type: str
    cache_control: str
    etag: str


@dataclass(frozen=True, slots=True)
class Bundle:
    """Every file of the bundle by URL path (``/index.html``, ``/assets/app-3F2A9C1B.js``)."""

    files: dict[str, Asset]
    directory: Path

    @property
    def index(self) -> Asset:
        """The app's entry page, served for every route of the app."""
        return self.files["/" + INDEX]

    @classmethod
    def load(cls, directory: Path) -> Bundle:
        """Read every file under ``directory``; it must hold an ``index.html``."""
        if not (directory / INDEX).is_file():
            raise BundleError(f"no {INDEX} in {directory}: build the app (web/) or set AMEIDE_WEB_STATIC_DIR")
        files = {}
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            relative = path.relative_to(directory).as_posix()
            if relative.startswith(".") or "/." in relative:
                continue
            files["/" + relative] = _asset(path, relative)
        return cls(files=files, directory=directory)


def shipped_directory() -> Path:
    """The bundle committed inside this package (``ameide_web/static``)."""
    return Path(str(resources.files("ameide_web").joinpath("static")))


def _asset(path: Path, relative: str) -> Asset:
    body = path.read_bytes()
    suffix = path.suffix.lower()
    content_type = _TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    gzipped = None
    if suffix in _COMPRESSIBLE and len(body) >= MIN_GZIP_BYTES:
        # mtime=0: the same file always compresses to the same bytes.
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    cache = IMMUTABLE if relative.startswith(HASHED_DIR + "/") else REVALIDATE
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Asset(body=body, gzipped=gzipped, content_type=content_type, cache_control=cache, etag=etag)
