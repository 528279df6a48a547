"""Property-based tests (hypothesis) of the geometry at the edge: coordinate checks, the CRS
round trip, bounding boxes and caller-given GeoJSON. Any input either passes with a sound
result or is refused with the module's own error, never another exception."""

from __future__ import annotations

import math

import shapely
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from geo.crs import CoordinateError, check_lat_lon, to_storage, to_wgs84, to_wgs84_many
from geo.given_areas import AreaInputError, area_from_bbox, area_from_geojson

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

any_float = st.floats(allow_nan=True, allow_infinity=True)
lat_in_range = st.floats(min_value=-90, max_value=90)
lon_in_range = st.floats(min_value=-180, max_value=180)
# Mainland Norway, Svalbard and the sea between: where the API's points lie.
norway_lat = st.floats(min_value=57.5, max_value=80.5)
norway_lon = st.floats(min_value=4.0, max_value=31.5)


@FAST
@given(lat=any_float, lon=any_float)
def test_check_lat_lon_accepts_exactly_the_finite_in_range_pairs(lat, lon):
    valid = math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180
    try:
        check_lat_lon(lat, lon)
    except CoordinateError as error:
        assert not valid
        assert str(error).split(" ", 1)[0] in ("lat", "lon")
    else:
        assert valid


@FAST
@given(lat=lat_in_range, lon=lon_in_range)
@example(lat=0.0, lon=105.0)  # 90° from UTM 33's meridian: pyproj gives inf
@example(lat=0.0001, lon=-75.0)
def test_every_valid_point_projects_finitely_or_is_refused(lat, lon):
    try:
        x, y = to_storage(lat, lon)
    except CoordinateError as error:
        assert "too far from Norway" in str(error)
        assert str(error).startswith("lon ")
        assert abs(lon - 15) > 45  # far from the zone, never a point near Norway
    else:
        assert math.isfinite(x)
        assert math.isfinite(y)


@FAST
@given(lat=norway_lat, lon=norway_lon)
def test_storage_crs_round_trip(lat, lon):
    x, y = to_storage(lat, lon)
    assert -1_200_000 < x < 2_000_000
    assert 6_000_000 < y < 9_500_000
    back_lat, back_lon = to_wgs84(x, y)
    assert math.isclose(back_lat, lat, abs_tol=1e-7)
    assert math.isclose(back_lon, lon, abs_tol=1e-7)


@FAST
@given(points=st.lists(st.tuples(norway_lat, norway_lon), max_size=25))
def test_many_points_transform_as_each_alone(points):
    """to_wgs84_many (the API's batch for a page of places) is to_wgs84 point by point."""
    stored = [to_storage(lat, lon) for lat, lon in points]
    assert to_wgs84_many([x for x, _ in stored], [y for _, y in stored]) == [
        to_wgs84(x, y) for x, y in stored
    ]


@FAST
@given(lat=norway_lat, lon=norway_lon, d_lat=st.floats(min_value=1e-4, max_value=0.05))
def test_storage_crs_keeps_north_up_and_metres(lat, lon, d_lat):
    # A step north is a step up the plane of about 111 km per degree (grid convergence and
    # scale stay within a few per cent across Norway in zone 33).
    x0, y0 = to_storage(lat, lon)
    x1, y1 = to_storage(min(lat + d_lat, 90), lon)
    step = math.hypot(x1 - x0, y1 - y0)
    assert y1 > y0
    assert math.isclose(step, d_lat * 111_200, rel_tol=0.05)


@FAST
@given(box=st.lists(any_float, min_size=0, max_size=6))
def test_bbox_is_refused_or_a_sound_area(box):
    try:
        area = area_from_bbox(box)
    except AreaInputError as error:
        assert error.reason
        return
    min_lon, min_lat, max_lon, max_lat = box
    assert min_lon < max_lon
    assert min_lat < max_lat
    assert all(math.isfinite(v) for v in box)
    if area.geom is None:  # nothing of it near Norway
        assert area.notes
        return
    assert shapely.is_valid(area.geom)
    assert area.geom.area > 0


@FAST
@given(
    lon=st.floats(min_value=5, max_value=30),
    lat=st.floats(min_value=58, max_value=70),
    width=st.floats(min_value=0.001, max_value=2),
    height=st.floats(min_value=0.001, max_value=2),
)
def test_bbox_inside_the_region_is_kept_whole(lon, lat, width, height):
    area = area_from_bbox([lon, lat, lon + width, lat + height])
    assert area.geom is not None
    assert area.notes == ()
    # A point inside the projected area is inside the box, back in WGS84 (the box's edges
    # were densified, so its parallels stay curved lines, not chords, in the plane).
    inside = area.geom.representative_point()
    inside_lat, inside_lon = to_wgs84(inside.x, inside.y)
    assert lon - 1e-6 < inside_lon < lon + width + 1e-6
    assert lat - 1e-6 < inside_lat < lat + height + 1e-6
    corner_x, corner_y = to_storage(lat, lon)
    assert area.geom.distance(shapely.Point(corner_x, corner_y)) < 0.01


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | any_float | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["type", "coordinates", "geometry", "x"]), children, max_size=3
        )
    ),
    max_leaves=40,
)
geojson_types = st.sampled_from(["Polygon", "MultiPolygon", "Feature", "Point", "LineString"])


@FAST
@given(kind=geojson_types, coordinates=json_values, wrap=st.booleans())
def test_any_json_as_a_polygon_is_refused_or_sound(kind, coordinates, wrap):
    value = {"type": kind, "coordinates": coordinates}
    if wrap:
        value = {"type": "Feature", "geometry": value}
    _refused_or_sound(value)


position = st.tuples(st.floats(min_value=9, max_value=12), st.floats(min_value=59, max_value=61))


@FAST
@given(points=st.lists(position, min_size=3, max_size=12))
def test_random_rings_are_refused_or_repaired_into_valid_areas(points):
    # Random rings self-intersect often: they are repaired, or refused with a reason.
    ring = [list(p) for p in points] + [list(points[0])]
    _refused_or_sound({"type": "Polygon", "coordinates": [ring]})


def _refused_or_sound(value: object) -> None:
    try:
        area = area_from_geojson(value)
    except AreaInputError as error:
        assert error.reason
        return
    if area.geom is not None:
        assert shapely.is_valid(area.geom)
        assert area.geom.area > 0
        assert area.geom.geom_type == "MultiPolygon"
