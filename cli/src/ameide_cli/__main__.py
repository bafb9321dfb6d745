"""``python -m ameide_cli``: the same as the ``ameide`` console script."""

from __future__ import annotations

import sys

from ameide_cli.main import main

if __name__ == "__main__":
    sys.exit(main())
