"""Query points as SQL expressions, already in the storage CRS (EPSG:25833)."""

from __future__ import annotations

import math

import sqlalchemy as sa

from geo.crs import STORAGE_SRID


def storage_point(x: float, y: float) -> sa.ColumnElement[object]:
    """``ST_SetSRID(ST_MakePoint(x, y), 25833)`` with bound parameters; no transform in SQL."""
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"point coordinates must be finite, got ({x!r}, {y!r})")
    return sa.func.ST_SetSRID(
        sa.func.ST_MakePoint(sa.literal(float(x), sa.Float), sa.literal(float(y), sa.Float)),
        STORAGE_SRID,
    )
