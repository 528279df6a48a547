"""Property-based tests (hypothesis) of the API's input checks: for any value, a check returns a
value inside its documented range or raises BadUserInput naming the field; nothing else."""

from __future__ import annotations

import base64
import math
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from api.checks import checked_radius, checked_within, decode_global_id, storable_text
from api.errors import BadUserInput
from api.graphql.inputs import LatLonInput
from api.graphql.relay import decode_cursor, encode_cursor, page_size
from api.http.params import _bbox
from geo.queries.coverage import MAX_WITHIN_M
from geo.queries.nearby import MAX_RADIUS_M

FAST = settings(max_examples=200, deadline=None)
any_float = st.floats(allow_nan=True, allow_infinity=True)


@FAST
@given(lat=any_float, lon=any_float)
@example(lat=0.0, lon=105.0)  # in range, but UTM 33N has no image for it
def test_a_point_is_in_range_or_refused_naming_the_coordinate(lat, lon):
    try:
        x, y = LatLonInput(lat=lat, lon=lon).to_storage("near.at")
    except BadUserInput as error:
        bad_lat = not (math.isfinite(lat) and -90 <= lat <= 90)
        bad_lon = not (math.isfinite(lon) and -180 <= lon <= 180)
        assert error.details["field"] == ("near.at.lat" if bad_lat else "near.at.lon")
        assert bad_lat or bad_lon or "too far from Norway" in error.message
    else:
        assert -90 <= lat <= 90
        assert -180 <= lon <= 180
        assert math.isfinite(x)
        assert math.isfinite(y)


@FAST
@given(
    first=st.none() | st.integers(min_value=-(2**31), max_value=2**31 - 1),
    maximum=st.integers(min_value=1, max_value=1000),
)
def test_page_size(first, maximum):
    try:
        size = page_size(first, maximum)
    except BadUserInput as error:
        assert first is not None
        assert not 0 <= first <= maximum
        assert error.details["field"] == "first"
    else:
        assert size == (min(20, maximum) if first is None else first)
        assert 0 <= size <= maximum


@FAST
@given(radius=any_float)
def test_radius(radius):
    try:
        assert checked_radius(radius) == radius
    except BadUserInput as error:
        assert error.details["field"] == "radiusMeters"
        assert not 0 < radius <= MAX_RADIUS_M
    else:
        assert 0 < radius <= MAX_RADIUS_M


@FAST
@given(within=any_float)
def test_within_meters(within):
    try:
        checked_within(within)
    except BadUserInput as error:
        assert error.details["field"] == "withinMeters"
        assert not (math.isfinite(within) and 0 < within <= MAX_WITHIN_M)
    else:
        assert 0 < within <= MAX_WITHIN_M


numbers_text = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.one_of(any_float.map(str), st.integers().map(str), st.text(max_size=4)), max_size=6
    ).map(",".join),
)


@FAST
@given(text=numbers_text)
def test_export_bbox_parameter(text):
    try:
        numbers = _bbox(text)
    except BadUserInput as error:
        assert error.details["field"] == "bbox"
    else:
        assert len(numbers) == 4
        assert all(math.isfinite(n) for n in numbers)


@FAST
@given(text=st.text())
def test_storable_text(text):
    try:
        assert storable_text(text, "filter.text") == text
    except BadUserInput as error:
        assert error.details["field"] == "filter.text"
        assert "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    else:
        text.encode("utf-8")
        assert "\x00" not in text


@FAST
@given(
    value=st.text(max_size=80) | st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode())
)
def test_ids_and_cursors_decode_or_are_refused(value):
    try:
        type_name, key = decode_global_id(value)
    except BadUserInput as error:
        assert error.details["field"] == "id"
    else:
        assert base64.b64decode(value).decode() == f"{type_name}:{key}"
    try:
        key = decode_cursor(value, "venues", re.compile(r"[0-9]+"))
    except BadUserInput as error:
        assert error.details["field"] == "after"
    else:
        assert encode_cursor("venues", key) == value or key.isdigit()


@FAST
@given(
    params=st.dictionaries(
        st.sampled_from(["bbox", "withinMeters", "unitKind", "municipality", "target", "language"]),
        st.text(max_size=20),
        max_size=5,
    )
)
def test_coverage_export_parameters(params):
    from api.http.params import coverage_question

    try:
        question = coverage_question(QueryParams(params))
    except BadUserInput as error:
        assert error.details.get("field")
    else:
        assert 0 < question.within_m <= MAX_WITHIN_M
