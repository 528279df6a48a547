"""Helpers for the loader tests: a fingerprint of what loaders write, and refusal checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from geo.tables import county, municipality, municipality_statistics
from loaders.report import LoadError


def _boundaries(table: sa.Table) -> sa.Select:
    wkb = sa.cast(sa.func.ST_AsBinary(table.c.geom), sa.LargeBinary)
    return sa.select(
        table.c.number,
        table.c.name,
        table.c.source,
        table.c.version,
        table.c.updated_at,
        sa.func.md5(wkb),
    ).order_by(table.c.number)


def snapshot(conn: sa.Connection) -> dict[str, list[tuple]]:
    """Every row the boundary and statistics loaders write, with versions and timestamps."""
    stats = municipality_statistics
    return {
        "county": [tuple(r) for r in conn.execute(_boundaries(county))],
        "municipality": [tuple(r) for r in conn.execute(_boundaries(municipality))],
        "statistics": [
            tuple(r)
            for r in conn.execute(
                sa.select(stats).order_by(stats.c.municipality_number, stats.c.year)
            )
        ],
    }


def refused(conn: sa.Connection, load: Callable[[], Any], code: str) -> LoadError:
    """Run ``load``, expect a LoadError with ``code``, and check nothing was written."""
    before = snapshot(conn)
    with pytest.raises(LoadError) as caught:
        load()
    assert caught.value.code == code, str(caught.value)
    assert snapshot(conn) == before
    return caught.value
