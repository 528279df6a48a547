"""Query points as SQL expressions, already in the storage CRS (EPSG:25833)."""

from __future__ import annotations

import math

import sqlalchemy as sa

from geo.crs import STORAGE_SRID


def check_finite(x: float, y: float) -> None:
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"point coordinates must be finite, got ({x!r}, {y!r})")


def storage_point(x: float, y: float) -> sa.ColumnElement[object]:
    """``ST_SetSRID(ST_MakePoint(x, y), 25833)`` with bound parameters; no transform in SQL."""
    check_finite(x, y)
    return sa.func.ST_SetSRID(
        sa.func.ST_MakePoint(sa.literal(float(x), sa.Float), sa.literal(float(y), sa.Float)),
        STORAGE_SRID,
    )


def bound_storage_point(x: str = "x", y: str = "y") -> sa.ColumnElement[object]:
    """The same point with its coordinates as named bind parameters, for a statement built once
    and run with many points (check the values with :func:`check_finite`)."""
    return sa.func.ST_SetSRID(
        sa.func.ST_MakePoint(sa.bindparam(x, type_=sa.Float), sa.bindparam(y, type_=sa.Float)),
        STORAGE_SRID,
    )
