"""`places(text:)`: the search box's places by name, typo-tolerant like the text filter, each
with a point inside it and its bounding box, on the bundled real data."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio

PLACES = """query ($text: String!, $first: Int! = 8) { places(text: $text, first: $first) {
  kind code name municipalityNumber inside { lat lon } bbox } }"""
WHERE = """query ($lat: Float!, $lon: Float!) { whereAmI(at: {lat: $lat, lon: $lon}) {
  municipality { number } district { code } subDistrict { code }
  areaInitiatives { slug } } }"""


async def places(gql, text: str, first: int | None = None) -> list[dict]:
    variables: dict[str, object] = {"text": text}
    if first is not None:
        variables["first"] = first
    return (await gql.data(PLACES, variables))["places"]


async def test_a_typo_finds_the_district_and_the_initiative(gql):
    found = await places(gql, "grorudal")
    names = {(p["kind"], p["name"]) for p in found}
    assert ("BYDEL", "Grorud") in names
    assert ("AREA_INITIATIVE", "Groruddalen") in names


async def test_norwegian_letters_typed_plain(gql):
    found = await places(gql, "tromso")
    assert found[0]["kind"] == "MUNICIPALITY"
    assert found[0]["name"] == "Tromsø"


async def test_a_number_or_code_is_an_exact_match_first(gql):
    oslo = (await places(gql, "0301"))[0]
    assert (oslo["kind"], oslo["code"], oslo["name"]) == ("MUNICIPALITY", "0301", "Oslo")
    alna = (await places(gql, "Alna"))[0]
    assert (alna["kind"], alna["code"], alna["municipalityNumber"]) == ("BYDEL", "030112", "0301")


async def test_the_point_lies_inside_the_place_and_the_box_holds_it(gql):
    for text, kind in (("Oslo", "MUNICIPALITY"), ("Alna", "BYDEL"), ("Groruddalen", None)):
        place = next(p for p in await places(gql, text) if kind in (None, p["kind"]))
        at = place["inside"]
        west, south, east, north = place["bbox"]
        assert west <= at["lon"] <= east
        assert south <= at["lat"] <= north
        around = (await gql.data(WHERE, {"lat": at["lat"], "lon": at["lon"]}))["whereAmI"]
        if place["kind"] == "MUNICIPALITY":
            assert around["municipality"]["number"] == place["code"]
        elif place["kind"] == "BYDEL":
            assert around["district"]["code"] == place["code"]
        else:
            assert place["code"] in {a["slug"] for a in around["areaInitiatives"]}


async def test_a_name_that_starts_with_the_text_comes_first(gql):
    found = await places(gql, "bergen", 5)
    assert found[0]["name"] == "Bergen"
    assert len(found) <= 5


async def test_blank_wildcards_and_limits(gql):
    assert await places(gql, "   ") == []
    assert await places(gql, "%") == []  # a letter, not LIKE's wildcard
    assert await places(gql, "_") == []
    for variables, field in (
        ({"text": "oslo", "first": 21}, "first"),
        ({"text": "oslo", "first": 0}, "first"),
        ({"text": "o" * 201}, "text"),
        ({"text": "os\u0000lo"}, "text"),
    ):
        result = await gql(PLACES, variables)
        assert result.errors is not None
        error = result.errors[0]
        assert error.extensions is not None
        assert error.extensions["code"] == "BAD_USER_INPUT", error.formatted
        assert error.extensions["field"] == field
