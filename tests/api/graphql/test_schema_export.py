"""schema.graphql is generated from the code; this fails when the checked-in file drifts."""

from __future__ import annotations

from api.graphql.schema_export import export_schema
from geo.settings import PROJECT_ROOT

SCHEMA_FILE = PROJECT_ROOT / "schema.graphql"


def test_checked_in_schema_matches_the_code():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == export_schema(), (
        "schema.graphql is out of date: run `.venv/bin/hverdag schema export`"
    )


def test_schema_speaks_the_contract():
    sdl = export_schema()
    for fragment in (
        "whereAmI(",
        "at: LatLonInput!",
        "municipality(",
        "number: String!",
        "municipalities(",
        "first: Int = 20",
        "counties: [County!]!",
        "node(",
        "interface Node",
        "immigrantShare: Float",
        "areaKm2: Float!",
        "centroid: LatLon!",
        "simplifyMeters: Float",
        "scalar JSON",
        "totalCount: Int!",
        "hasPreviousPage: Boolean!",
        "endCursor: String",
    ):
        assert fragment in sdl, fragment
