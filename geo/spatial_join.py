"""Which municipality covers each point: how a venue's or an area's municipality is derived."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from geo.crs import STORAGE_SRID
from geo.tables import municipality


def municipalities_of_points(
    conn: sa.Connection, points: Sequence[tuple[float, float]]
) -> list[str | None]:
    """For each (x, y) in EPSG:25833, the number of the municipality covering it, else None.

    One statement for all points (unnest, then an index-backed ST_Covers join).
    """
    if not points:
        return []
    pts = (
        sa.func.unnest(
            sa.literal([p[0] for p in points], ARRAY(sa.Float)),
            sa.literal([p[1] for p in points], ARRAY(sa.Float)),
        )
        .table_valued("x", "y", with_ordinality="n")
        .render_derived("pts")
    )
    geom = sa.func.ST_SetSRID(sa.func.ST_MakePoint(pts.c.x, pts.c.y), STORAGE_SRID)
    rows = conn.execute(
        sa.select(pts.c.n, sa.func.min(municipality.c.number).label("number"))
        .select_from(pts.outerjoin(municipality, sa.func.ST_Covers(municipality.c.geom, geom)))
        .group_by(pts.c.n)
    )
    found = {int(r.n): r.number for r in rows}
    return [found.get(i + 1) for i in range(len(points))]
