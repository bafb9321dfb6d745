"""What every read-model table shares: one ``MetaData``, the timestamp type, and select lists.

Tables carry no schema name: statements resolve them through ``search_path``, which is how the rebuild points
the writer at its build schema (blue/green).
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

metadata = sa.MetaData()

TIMESTAMP = sa.DateTime(timezone=True)


def select_list(table: sa.Table, alias: str = "", *, without: Collection[str] = ()) -> str:
    """``table``'s stored columns in definition order (its row type's field order), as SQL: ``c.id, c.title``.

    Generated columns are left out: no row type holds them.
    """
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + c.name for c in table.c if c.name not in without and c.computed is None)
