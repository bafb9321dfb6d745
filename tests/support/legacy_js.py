r"""What the legacy JavaScript app writes to PostgreSQL, for tests that build legacy databases.

JavaScript strings are UTF-16 and may hold lone surrogates (a string cut in the middle of an emoji) and NUL.
``JSON.stringify`` writes a lone surrogate as a ``\udXXX`` escape and NUL as ``\u0000``, which a ``json`` column
keeps verbatim; the driver encodes a string for a ``text`` column as UTF-8, turning each lone surrogate into U+FFFD,
and PostgreSQL refuses NUL there (such a row was never written; its text is generated without NUL).
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def js_json(value: Any) -> str:
    """``JSON.stringify(value)``: non-ASCII as is, control characters and lone surrogates as escapes."""
    text = json.dumps(value, ensure_ascii=False)
    # Surrogates here are lone (Python joins escaped pairs when parsing): JavaScript escapes them in lower case.
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def js_text(value: str) -> str:
    """What a ``text`` column holds after the app wrote ``value``: each surrogate as U+FFFD, no NUL."""
    joined = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return joined.replace("\x00", "")
