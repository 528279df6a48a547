"""What the DCAT catalogue (api/http/catalog.py) says of each dataset that comes from the data:
how many live rows, the first row's creation (its temporal coverage starts) and the last
change (``dct:modified``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from geo.tables import (
    activity,
    area_initiative,
    immigrant_council,
    municipality,
    organisation,
    statistical_area,
    venue,
)

TABLES = {
    "activities": activity,
    "venues": venue,
    "councils": immigrant_council,
    "organisations": organisation,
    "areas": statistical_area,
    "municipalities": municipality,
    "initiatives": area_initiative,
}


@dataclass(frozen=True)
class TableStats:
    rows: int
    first_created: datetime | None
    last_changed: datetime | None


def table_stats(conn: sa.Connection) -> dict[str, TableStats]:
    """Per dataset: its live rows, earliest ``created_at`` and latest ``updated_at``."""
    found = {}
    for name, table in TABLES.items():
        row = conn.execute(
            sa.select(
                sa.func.count().filter(table.c.archived_at.is_(None)),
                sa.func.min(table.c.created_at),
                sa.func.max(table.c.updated_at),
            )
        ).one()
        found[name] = TableStats(int(row[0]), row[1], row[2])
    return found
