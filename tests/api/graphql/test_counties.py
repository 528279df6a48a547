"""counties with their municipalities, and no N+1: statement counts independent of size."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.conftest import DATA_DIR

pytestmark = pytest.mark.anyio


async def test_counties_with_their_municipalities(gql):
    data = await gql.data("{ counties { number name municipalities { number name } } }")
    counties = data["counties"]
    features = json.loads((DATA_DIR / "fylker-2020.geojson").read_text())["features"]
    assert [(c["number"], c["name"]) for c in counties] == sorted(
        (f"{f['properties']['fylkesnummer']:02d}", f["properties"]["navn"]) for f in features
    )
    municipalities = json.loads((DATA_DIR / "kommuner-2020.geojson").read_text())["features"]
    per_county = Counter(f"{f['properties']['kommunenummer']:04d}"[:2] for f in municipalities)
    for county in counties:
        numbers = [m["number"] for m in county["municipalities"]]
        assert numbers == sorted(numbers)
        assert all(n.startswith(county["number"]) for n in numbers)
        assert len(numbers) == per_county[county["number"]]
    assert sum(len(c["municipalities"]) for c in counties) == 356
    oslo = next(c for c in counties if c["number"] == "03")
    assert oslo["municipalities"] == [{"number": "0301", "name": "Oslo"}]


async def test_county_by_number(gql):
    data = await gql.data('{ a: county(number: "46") { name } b: county(number: "99") { name } }')
    assert data == {"a": {"name": "Vestland"}, "b": None}


NESTED = """{ counties { number municipalities { number population county { name }
             boundary(simplifyMeters: 5000) } } }"""


async def test_counties_tree_takes_a_fixed_number_of_statements(gql, count_statements):
    data = await gql.data(NESTED)
    assert sum(len(c["municipalities"]) for c in data["counties"]) == 356
    # The counties; all their municipalities; all 356 boundaries.
    assert len(count_statements.statements) == 3, count_statements.statements


PAGE = """query ($first: Int) { municipalities(first: $first) { totalCount edges { node {
          number county { name municipalities { number } } boundary(simplifyMeters: 1000)
          centroid { lat } } } } }"""


async def test_page_statements_do_not_grow_with_the_page(gql, count_statements):
    counts = []
    for first in (2, 20, 100):
        count_statements.statements.clear()
        data = await gql.data(PAGE, {"first": first})
        assert len(data["municipalities"]["edges"]) == first
        counts.append(len(count_statements.statements))
    # The page; its counts; the counties' municipalities; the boundaries.
    assert counts == [4, 4, 4], counts
