"""The cost limits of a drawn area (geo.given_areas): what is counted before a repair, and what
is refused before any costly work starts (issue 20, item 2). No database."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from shapely.geometry import MultiPolygon, Polygon, box

from geo import given_areas
from geo.given_areas import (
    MAX_DENSIFIED_POSITIONS,
    MAX_REPAIR_COST,
    MAX_RING_OVERLAPS,
    AreaInputError,
    area_from_bbox,
    area_from_geojson,
    crossing_edges,
    overlapping_rings,
)

BOWTIE = [[10.75, 59.9], [10.95, 60.0], [10.95, 59.9], [10.75, 60.0], [10.75, 59.9]]
SQUARE = [[10.7, 59.9], [10.8, 59.9], [10.8, 60.0], [10.7, 60.0], [10.7, 59.9]]


def _polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [*rings]}


def _zigzag(positions: int, width: float = 1.5) -> list[list[float]]:
    """The issue's shape: east and back ``width`` degrees, closed along the western side."""
    ring = [[10 + (i % 2) * width, 59 + i * 0.0002] for i in range(positions)]
    return [*ring, ring[0]]


def _star(points: int) -> list[list[float]]:
    """A regular star polygon {points/(points-1)/2}: every edge crosses almost every other."""
    angles = np.arange(points) * ((points - 1) // 2) * 2 * np.pi / points
    ring = [[10.7 + 0.25 * float(np.cos(a)), 59.9 + 0.125 * float(np.sin(a))] for a in angles]
    return [*ring, ring[0]]


def _squares(count: int) -> list[list[list[float]]]:
    """``count`` concentric squares round one point, as rings."""
    rings = []
    for i in range(count):
        d = 0.0001 * (i + 1)
        x, y = 10.7, 59.9
        rings.append(
            [[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]]
        )
    return rings


def _multi(geojson: dict[str, Any]) -> MultiPolygon:
    return given_areas._checked_polygon(geojson)


def test_crossing_edges_counts_what_a_repair_must_node():
    assert crossing_edges(_multi(_polygon(SQUARE)), 100) == 0
    assert crossing_edges(_multi(_polygon(BOWTIE)), 100) == 1
    # A repeated position makes no edge: its neighbours still share a position, not a crossing.
    assert crossing_edges(_multi(_polygon([SQUARE[0], *SQUARE])), 100) == 0
    # The closing edge of the issue's zig-zag touches each of its ~5,000 western positions,
    # where two edges meet: ~10,000 pairs.
    assert crossing_edges(_multi(_polygon(_zigzag(9999))), 10**9) == 9996
    # A star of 125 points: every edge crosses all but itself and its two neighbours.
    assert crossing_edges(_multi(_polygon(_star(125))), 10**9) == 125 * (125 - 3) // 2


def test_counting_stops_soon_after_the_limit():
    found = crossing_edges(_multi(_polygon(_zigzag(9999))), 10)
    assert 10 < found < 9996


def test_overlapping_rings_leaves_out_a_polygons_own_holes():
    hole = [[10.72, 59.92], [10.73, 59.92], [10.73, 59.93], [10.72, 59.93], [10.72, 59.92]]
    assert overlapping_rings(_multi(_polygon(SQUARE, hole)), 100) == 0
    nested = {"type": "MultiPolygon", "coordinates": [[ring] for ring in _squares(20)]}
    assert overlapping_rings(_multi(nested), 10**6) == 20 * 19 // 2
    holes = _polygon(SQUARE, *_squares(20))  # nested holes: each pair overlaps
    assert overlapping_rings(_multi(holes), 10**6) == 20 * 19 // 2


def test_the_issues_polygon_is_refused_before_its_repair(monkeypatch):
    def no_repair(geom: Any) -> Any:
        raise AssertionError("the repair must not start")

    monkeypatch.setattr(given_areas, "make_areal", no_repair)
    with pytest.raises(AreaInputError) as refused:
        area_from_geojson(_polygon(_zigzag(9999)))
    reason = refused.value.reason
    assert "too complex to repair" in reason
    assert "10,000 positions" in reason
    assert f"limit of {MAX_REPAIR_COST:,}" in reason
    assert "Self-intersection at lon 10" in reason


def test_repairs_within_the_cost_limit_still_happen():
    star = _polygon(_star(125))  # 126 positions × 7,625 crossings: just under the limit
    assert MAX_REPAIR_COST >= 126 * 7625
    area = area_from_geojson(star)
    assert area.geom is not None
    assert area.geom.is_valid
    assert "repaired" in area.notes[0].english
    with pytest.raises(AreaInputError, match="too complex to repair"):
        area_from_geojson(_polygon(_star(161)))  # 162 × 12,719: over it


def test_nested_rings_are_refused_before_the_validity_check(monkeypatch):
    def no_check(geom: Any) -> Any:
        raise AssertionError("the validity check must not start")

    monkeypatch.setattr(given_areas.shapely, "is_valid", no_check)
    squares = _squares(200)  # 19,900 pairs
    assert len(squares) * (len(squares) - 1) // 2 > MAX_RING_OVERLAPS
    with pytest.raises(AreaInputError, match="too complex to check"):
        area_from_geojson({"type": "MultiPolygon", "coordinates": [[ring] for ring in squares]})


def test_long_edges_are_refused_before_they_are_densified(monkeypatch):
    def no_densify(*args: Any) -> Any:
        raise AssertionError("the densification must not start")

    monkeypatch.setattr(given_areas.shapely, "segmentize", no_densify)
    # A valid comb: 500 teeth of 2 edges 2° long each, ~200,000 positions once densified.
    ring = [[10.0, 59.0]]
    for i in range(500):
        x = 10.0 + i * 0.002
        ring += [[x, 61.0], [x + 0.001, 61.0], [x + 0.001, 59.5], [x + 0.002, 59.5]]
    ring += [[11.0, 59.0], [10.0, 59.0]]
    assert Polygon(ring).is_valid
    with pytest.raises(AreaInputError, match="edges are too long") as refused:
        area_from_geojson(_polygon(ring))
    assert f"{MAX_DENSIFIED_POSITIONS:,}" in refused.value.reason


def test_the_whole_region_is_within_the_densification_limit():
    area = area_from_bbox([-180, -90, 180, 90])
    assert area.geom is not None
    assert given_areas._densified_positions(box(*given_areas.REGION)) < MAX_DENSIFIED_POSITIONS


@pytest.mark.parametrize(
    ("position", "reason"),
    [
        ([True, 59.95], "polygon ring 0 position 2: lon must be a number, got True"),
        (["10.8", 59.95], "polygon ring 0 position 2: lon must be a number, got '10.8'"),
        ([10.8], "polygon ring 0 position 2 must be a position [lon, lat], got [10.8]"),
        ([10.8, 59.95, 1, 2], "position 2 must be a position [lon, lat]"),
        ([10.8, 91.0], "polygon ring 0 position 2: lat must be within [-90, 90]"),
        ([float("nan"), 59.95], "polygon ring 0 position 2: lon must be within [-180, 180]"),
        ("10.8,59.95", "position 2 must be a position [lon, lat]"),
    ],
)
def test_positions_read_in_bulk_are_refused_as_one_at_a_time(position, reason):
    ring = [[10.7, 59.9], [10.8, 59.9], position, [10.7, 59.95], [10.7, 59.9]]
    with pytest.raises(AreaInputError) as refused:
        area_from_geojson(_polygon(ring))
    assert reason in refused.value.reason


def test_a_third_coordinate_is_dropped_whatever_it_is():
    flat = area_from_geojson(_polygon(SQUARE))
    for third in (12.5, None, "high"):
        ring = [[*p, third] for p in SQUARE]
        assert area_from_geojson(_polygon(ring)).geom.equals(flat.geom)
