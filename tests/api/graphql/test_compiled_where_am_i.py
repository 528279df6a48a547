"""whereAmI on the compiled path (api.graphql.compiled): byte for byte strawberry's answer.

Two apps on the same demo database, one with ``compiled_queries`` on and one with it off (as
tests/api/graphql/test_compiled.py does for near-me), get the same requests at many points;
their bodies must be equal, and the compiled app's counter shows the compiled path answered.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

pytestmark = pytest.mark.anyio

#: The contract's example (docs/api-examples.graphql).
CONTRACT = """query WhereAmI($at: LatLonInput!) {
  whereAmI(at: $at) {
    municipality { number name population immigrantShare }
    county { number name }
    district { code name }
    areaInitiatives { id name }
  }
}"""
#: Every field the compiled path can render, aliases and fragments included.
EVERYTHING = """fragment Place on Municipality { id number name population populationYear
  immigrantPopulation immigrantShare refugeePopulation statisticsYear areaKm2
  centroid { lat lon } county { id number name } }
query($at: LatLonInput!) {
  here: whereAmI(at: $at) {
    __typename at { lat lon } municipality { ...Place } county { number name }
    district { code name kind } subDistrict { code name kind }
    areaInitiatives { id slug name description periodStart periodEnd }
  }
}"""
#: Oslo's districts and initiative, all of Norway with its sea, the contract's point.
BOXES = [((59.80, 60.05), (10.60, 11.00)), ((57.5, 71.5), (4.0, 31.5))]


async def _same(clients: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    compiled, plain, _ = clients
    body = {"query": query, "variables": variables}
    headers = {"x-request-id": "compare-1"}
    fast = await compiled.post("/graphql", json=body, headers=headers)
    slow = await plain.post("/graphql", json=body, headers=headers)
    assert (fast.status_code, fast.headers["content-type"]) == (
        slow.status_code,
        slow.headers["content-type"],
    )
    assert fast.content == slow.content
    return fast.json()


@pytest.mark.parametrize("query", [CONTRACT, EVERYTHING])
async def test_where_am_i_is_answered_by_the_compiled_path_as_strawberry_would(clients, query):
    compiled = clients[2]
    rng = random.Random(19)
    points = [(rng.uniform(*lats), rng.uniform(*lons)) for lats, lons in BOXES for _ in range(30)]
    points += [(59.9420, 10.8920), (0.0, 0.0)]
    before = compiled.answered
    seen = {"municipality": 0, "none": 0, "district": 0, "initiative": 0}
    for lat, lon in points:
        answer = await _same(clients, query, {"at": {"lat": lat, "lon": lon}})
        place = next(iter(answer["data"].values()))
        seen["municipality" if place["municipality"] else "none"] += 1
        seen["district"] += place["district"] is not None
        seen["initiative"] += bool(place["areaInitiatives"])
    assert compiled.answered == before + len(points)  # not one left to the fallback
    assert all(seen.values()), seen


async def test_what_whereami_leaves_to_strawberry_is_answered_the_same(clients):
    """A boundary (a resolver with arguments and the request's loaders), bad coordinates and a
    missing variable: the compiled path declines or gives up, strawberry answers."""
    compiled = clients[2]
    boundary = "query($at: LatLonInput!) { whereAmI(at: $at) { municipality { boundary } } }"
    assert compiled.plan(boundary, None) is None
    await _same(clients, boundary, {"at": {"lat": 59.9420, "lon": 10.8920}})
    bad = await _same(clients, CONTRACT, {"at": {"lat": 95.0, "lon": 10.0}})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    await _same(clients, CONTRACT, {})
