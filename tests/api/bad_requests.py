"""A corpus of bad requests and the answer each must get (test_bad_requests.py runs it).

Each :class:`Case` is one HTTP request and its expected answer: a status and the one
``extensions.code`` every error must carry, or ``OK`` for input that is odd but harmless (an
SQL-injection string in a free-text filter is just text: it must match literally, not fail).
The codes are those of docs/reliability.md's table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

OK = "OK"
BAD = "BAD_USER_INPUT"
COMPLEX = "QUERY_TOO_COMPLEX"
NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    status: int = 200
    method: str = "POST"
    path: str = "/graphql"
    #: A JSON body (POST) …
    json: Any = None
    #: … or raw bytes with a content type.
    content: bytes | None = None
    content_type: str = "application/json"
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def gql(name: str, query: str, code: str, variables: Any = None, status: int = 200) -> Case:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return Case(name, code, status, json=body)


def raw(
    name: str, body: bytes | str, code: str, status: int, content_type: str = "application/json"
) -> Case:
    content = body.encode() if isinstance(body, str) else body
    return Case(name, code, status, content=content, content_type=content_type)


def export(name: str, path: str, params: dict[str, str], code: str, status: int) -> Case:
    return Case(name, code, status, method="GET", path=path, params=params)


WHERE = "query ($at: LatLonInput!) { whereAmI(at: $at) { county { name } } }"
NEARBY = (
    "query ($lat: Float!, $lon: Float!, $r: Float!) { nearby(at: {lat: $lat, lon: $lon}, "
    "radiusMeters: $r, first: 5) { totalCount } }"
)
COVERAGE = (
    "query ($area: CoverageAreaInput!) { coverage(area: $area, target: {}, "
    "withinMeters: 500, unitKind: BYDEL) { population } }"
)
RAW_WHERE = (
    '{"query": "query ($lat: Float!, $lon: Float!) { whereAmI(at: {lat: $lat, lon: '
    '$lon}) { county { name } } }", "variables": {"lat": %s, "lon": %s}}'
)
RAW_COVERAGE = (
    '{"query": "query ($p: JSON!) { coverage(area: {polygon: $p}, target: {}, '
    'withinMeters: 500, unitKind: BYDEL) { population } }", "variables": {"p": %s}}'
)

INJECTIONS = (
    "'; DROP TABLE venue; --",
    "' OR '1'='1",
    "1); DELETE FROM activity WHERE (1=1",
    "%' UNION SELECT key_hash FROM api_key --",
    "$$; TRUNCATE municipality CASCADE; $$",
)


def _ring(n: int, lon: float = 10.75, lat: float = 59.91, r: float = 0.01) -> list[list[float]]:
    """A closed ring of n + 1 positions around a point (a polygon of n vertices)."""
    import math

    ring = [
        [lon + r * math.cos(2 * math.pi * i / n), lat + r * math.sin(2 * math.pi * i / n)]
        for i in range(n)
    ]
    return [*ring, ring[0]]


def _polygon(rings: Any) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": rings}


def _malformed() -> list[Case]:
    return [
        raw("json: truncated object", '{"query": "{ counties { name } }"', BAD, 400),
        raw("json: trailing garbage", '{"query": "{ counties { name } }"} xyz', BAD, 400),
        raw("json: single quotes", "{'query': '{ counties { name } }'}", BAD, 400),
        raw("json: unquoted key", '{query: "{ counties { name } }"}', BAD, 400),
        raw("json: comment", '{"query": "{ counties { name } }" /* hi */}', BAD, 400),
        raw("json: lone surrogate escape", '{"query": "{ counties { name } }\\ud800"}', BAD, 200),
        raw(
            "json: nested 100000 deep",
            '{"query": "{ counties { name } }", "variables": '
            + "[" * 100_000
            + "]" * 100_000
            + "}",
            BAD,
            400,
        ),
        raw("json: true", "true", BAD, 400),
        raw("json: array of numbers", "[1, 2, 3]", BAD, 400),
        raw("json: query is an object", '{"query": {"counties": 1}}', BAD, 400),
        raw("json: query is null", '{"query": null}', BAD, 400),
        raw(
            "json: variables is a list",
            '{"query": "{ counties { name } }", "variables": [1]}',
            BAD,
            400,
        ),
        raw(
            "form-encoded body",
            "query=%7B+counties+%7B+name+%7D+%7D",
            BAD,
            400,
            "application/x-www-form-urlencoded",
        ),
        raw("xml body", "<query>counties</query>", BAD, 400, "application/xml"),
        raw("empty body, no type", b"", BAD, 400, ""),
        Case("PUT /graphql", BAD, 405, method="PUT", json={"query": "{ counties { name } }"}),
        Case("unknown path", NOT_FOUND, 404, method="GET", path="/graphql/../etc/passwd"),
        Case(
            "GET without a query",
            BAD,
            400,
            method="GET",
            params={"variables": "{}"},
            headers={"accept": "application/json"},
        ),
        Case("GET with a mutation", BAD, 400, method="GET", params={"query": "mutation { x }"}),
    ]


def _documents() -> list[Case]:
    return [
        gql("syntax: unbalanced braces", "{ counties { name }", BAD),
        gql("syntax: empty document", "", BAD, status=400),
        gql("syntax: only a comment", "# nothing", BAD),
        gql("unknown field", "{ counties { password } }", BAD),
        gql("mutation on a read-only schema", "mutation { deleteEverything }", BAD),
        gql("subscription", "subscription { changes }", BAD),
        gql("two anonymous operations", "{ counties { name } } { counties { number } }", BAD),
        Case(
            "operationName not in the document",
            BAD,
            400,
            json={"query": "query A { counties { name } }", "operationName": "B"},
        ),
        gql("undefined variable", "{ county(number: $n) { name } }", BAD),
        gql(
            "variable of the wrong type",
            "query ($n: Int!) { county(number: $n) { name } }",
            BAD,
            {"n": 3},
        ),
        gql("unknown directive", "{ counties @explode { name } }", BAD),
        gql(
            "fragment cycle",
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
            BAD,
        ),
        gql(
            "fragment spreading itself",
            "{ ...A } fragment A on Query { counties { name } ...A }",
            BAD,
        ),
        gql("unknown fragment", "{ ...Nowhere }", BAD),
        gql("fragment on a wrong type", "{ counties { ...F } } fragment F on Venue { name }", BAD),
    ]


def _sizes() -> list[Case]:
    laughs = ["fragment F0 on Query { counties { name } }"] + [
        f"fragment F{i} on Query {{ ...F{i - 1} a{i}: counties {{ name }} }}" for i in range(1, 30)
    ]
    wide = " ".join(f'c{i}: county(number: "03") {{ name }}' for i in range(200))
    deep = (
        '{ county(number: "03") { '
        + "municipalities { county { " * 30
        + "number"
        + " } }" * 30
        + " } }"
    )
    return [
        gql("depth 60", deep, COMPLEX),
        gql(
            "selection nested 1000 deep (tokens)", "{" + " a {" * 1000 + " b" + " }" * 1001, COMPLEX
        ),
        gql("alias bomb: 200 aliases", "{ " + wide + " }", COMPLEX),
        gql(
            "alias bomb in a fragment",
            "{ ...W } fragment W on Query { "
            + " ".join(f"w{i}: counties {{ name }}" for i in range(40))
            + " }",
            COMPLEX,
        ),
        gql("fragment doubling 30 levels", "{ ...F29 } " + " ".join(laughs), COMPLEX),
        gql(
            "nested lists past the cost budget",
            "{ counties { municipalities { county { municipalities { county { municipalities "
            "{ number } } } } } } }",
            COMPLEX,
        ),
        gql("document of 100 kB", "#" + "x" * 100_000 + "\n{ counties { name } }", COMPLEX),
        gql(
            "30,000 directives",
            "{ counties " + "@skip(if: false) " * 30_000 + "{ name } }",
            COMPLEX,
        ),
        raw(
            "body of 2 MB",
            json.dumps({"query": "{ counties { name } }", "variables": {"x": "y" * 2_000_000}}),
            BAD,
            413,
        ),
        gql(
            "huge string in a number",
            "query ($n: String!) { municipality(number: $n) { name } }",
            BAD,
            {"n": "0" * 500_000},
        ),
        gql(
            "huge nameContains",
            "query ($t: String!) { municipalities(filter: {nameContains: $t}) { totalCount } }",
            BAD,
            {"t": "å" * 50_000},
        ),
        gql(
            "huge text filter",
            "query ($t: String!) { activities(filter: {text: $t}) { totalCount } }",
            BAD,
            {"t": "språkkafé " * 20_000},
        ),
        gql(
            "5,000 languages",
            "query ($l: [String!]) { activities(filter: {languages: $l}) { totalCount } }",
            BAD,
            {"l": ["ar"] * 5_000},
        ),
        gql(
            "huge cursor",
            "query ($a: String) { municipalities(after: $a) { totalCount } }",
            BAD,
            {"a": "Y3Vyc29y" * 50_000},
        ),
    ]


def _numbers() -> list[Case]:
    cases = [
        gql(f"first: {first}", f"{{ municipalities(first: {first}) {{ totalCount }} }}", BAD)
        for first in ("1000000000", "-1", "101", "2147483648", "1.5", '"10"', "null")
        if first != "null"
    ]
    cases += [
        gql(
            "nearby first: 1000000000",
            "{ nearby(at: {lat: 59.9, lon: 10.7}, first: 1000000000) { totalCount } }",
            BAD,
        ),
        gql(
            "changes first: 1000000000",
            '{ changes(since: "2020-01-01T00:00:00Z", first: '
            "1000000000) { pageInfo { hasNextPage } } }",
            BAD,
        ),
        gql(
            "gaps first: 1000000000",
            '{ coverage(area: {municipality: "0301"}, target: {}, '
            "withinMeters: 500, unitKind: BYDEL) { gaps(first: 1000000000) { edges { cursor } } }"
            " }",
            BAD,
        ),
    ]
    for lat, lon in (
        (90.0001, 10),
        (-91, 10),
        (59, 180.01),
        (59, -181),
        (1e308, 0),
        (-1e308, 1e308),
        (0, 360),
    ):
        cases.append(
            gql(f"whereAmI at ({lat}, {lon})", WHERE, BAD, {"at": {"lat": lat, "lon": lon}})
        )
    # Valid WGS84 that UTM 33N cannot project (90° from its meridian): refused, not a 500.
    cases += [
        gql("whereAmI at (0, 105)", WHERE, BAD, {"at": {"lat": 0, "lon": 105}}),
        gql("nearby at (0, -75)", NEARBY, BAD, {"lat": 0, "lon": -75, "r": 5000}),
    ]
    for lat, lon, r in (
        (59.9, 10.7, -1),
        (59.9, 10.7, 100_001),
        (59.9, 10.7, 1e300),
        (95, 10.7, 500),
    ):
        cases.append(
            gql(f"nearby lat {lat} radius {r}", NEARBY, BAD, {"lat": lat, "lon": lon, "r": r})
        )
    for value in ("NaN", "Infinity", "-Infinity", "1e400", '"59.9"', "true", "{}", "[59.9]"):
        cases.append(raw(f"raw JSON lat {value}", RAW_WHERE % (value, "10.7"), BAD, 200))
    cases += [
        gql("literal NaN", "{ whereAmI(at: {lat: NaN, lon: 10}) { county { name } } }", BAD),
        gql(
            "string for a float", '{ whereAmI(at: {lat: "59", lon: 10}) { county { name } } }', BAD
        ),
        gql(
            "enum as a string",
            '{ nearby(at: {lat: 59.9, lon: 10.7}, kinds: ["ACTIVITY"]) { totalCount } }',
            BAD,
        ),
        gql(
            "unknown enum",
            "{ nearby(at: {lat: 59.9, lon: 10.7}, kinds: [BUNKER]) { totalCount } }",
            BAD,
        ),
        gql("age -5", "{ activities(filter: {age: -5}) { totalCount } }", BAD),
        gql("age 10^9", "{ activities(filter: {age: 1000000000}) { totalCount } }", BAD),
        gql(
            "share 1.5", "{ municipalities(filter: {minImmigrantShare: 1.5}) { totalCount } }", BAD
        ),
        gql(
            "simplifyMeters -1",
            '{ municipality(number: "0301") { boundary(simplifyMeters: -1) } }',
            BAD,
        ),
        gql(
            "withinMeters 0",
            '{ coverage(area: {municipality: "0301"}, target: {}, '
            "withinMeters: -5, unitKind: BYDEL) { population } }",
            BAD,
        ),
        gql(
            "time 25:00",
            '{ activities(filter: {openAt: {weekday: MONDAY, time: "25:00"}}) { totalCount } }',
            BAD,
        ),
        gql(
            "since not a date", '{ changes(since: "yesterday") { pageInfo { hasNextPage } } }', BAD
        ),
        gql(
            "since year 0",
            '{ changes(since: "0000-01-01T00:00:00Z") { pageInfo { hasNextPage } } }',
            BAD,
        ),
    ]
    return cases


def _injections() -> list[Case]:
    cases: list[Case] = []
    for i, text in enumerate(INJECTIONS):
        free_text = [
            (
                "activities text",
                "query ($t: String!) { activities(filter: {text: $t}) { totalCount } }",
            ),
            ("venues text", "query ($t: String!) { venues(filter: {text: $t}) { totalCount } }"),
            (
                "nearby text",
                "query ($t: String!) { nearby(at: {lat: 59.9, lon: 10.7}, "
                "filter: {text: $t}) { totalCount } }",
            ),
            (
                "nameContains",
                "query ($t: String!) { municipalities(filter: {nameContains: $t}) { totalCount } }",
            ),
        ]
        cases += [
            gql(f"injection {i} in {where}", query, OK, {"t": text}) for where, query in free_text
        ]
        formatted = [
            ("municipality number", "query ($t: String!) { municipality(number: $t) { name } }"),
            ("county number", "query ($t: String!) { county(number: $t) { name } }"),
            (
                "filter municipality",
                "query ($t: String!) { activities(filter: {municipality: $t}) { totalCount } }",
            ),
            (
                "filter county",
                "query ($t: String!) { municipalities(filter: {county: $t}) { totalCount } }",
            ),
            (
                "languages",
                "query ($t: String!) { venues(filter: {languages: [$t]}) { totalCount } }",
            ),
            ("node id", "query ($t: ID!) { node(id: $t) { id } }"),
            ("areaInitiative id", "query ($t: ID!) { areaInitiative(id: $t) { name } }"),
            ("after cursor", "query ($t: String!) { venues(after: $t) { totalCount } }"),
            (
                "changes since",
                "query ($t: DateTime!) { changes(since: $t) { pageInfo { hasNextPage } } }",
            ),
            (
                "venueAccess municipality",
                "query ($t: String!) { venueAccess(groupBy: COUNTY, "
                "filter: {municipality: $t}) { key } }",
            ),
            (
                "coverage initiative",
                "query ($t: ID!) { coverage(area: {areaInitiative: $t}, "
                "target: {}, withinMeters: 500, unitKind: BYDEL) { population } }",
            ),
            (
                "coverage languages",
                "query ($t: String!) { coverage(area: {municipality: "
                '"0301"}, target: {languages: [$t]}, withinMeters: 500, unitKind: BYDEL) '
                "{ population } }",
            ),
        ]
        cases += [
            gql(f"injection {i} in {where}", query, BAD, {"t": text}) for where, query in formatted
        ]
        cases += [
            export(f"injection {i} in export text", "/export/venues.csv", {"text": text}, OK, 200),
            export(
                f"injection {i} in export municipality",
                "/export/activities.geojson",
                {"municipality": text},
                BAD,
                400,
            ),
            export(
                f"injection {i} in export language",
                "/export/activities.csv",
                {"language": text},
                BAD,
                400,
            ),
            export(
                f"injection {i} in export areaInitiative",
                "/export/coverage.csv",
                {"areaInitiative": text, "withinMeters": "500", "unitKind": "BYDEL"},
                BAD,
                400,
            ),
        ]
    return cases


#: Text that is awkward at some layer: a NUL (PostgreSQL text cannot hold one), a lone
#: surrogate (not encodable as UTF-8), a right-to-left override, emoji, LIKE wildcards.
ODD_TEXTS = ("a\x00b", "\ud800x", "\u202egnp.exe", "😀" * 40, "%_%\\")


def _odd_texts() -> list[Case]:
    cases: list[Case] = []
    for i, text in enumerate(ODD_TEXTS):
        body = json.dumps(
            {
                "query": "query ($t: String!) { activities(filter: {text: $t}) { totalCount } }",
                "variables": {"t": text},
            }
        )
        # NUL and a lone surrogate cannot be stored or matched: BAD_USER_INPUT, not a 500.
        harmless = OK if i >= 2 else BAD
        cases += [
            raw(f"odd text {i} in activities text", body, harmless, 200),
            gql(
                f"odd text {i} in nameContains",
                "query ($t: String!) { municipalities(filter: {nameContains: $t}) { totalCount } }",
                harmless,
                {"t": text},
            ),
            gql(
                f"odd text {i} as a municipality number",
                "query ($t: String!) { municipality(number: $t) { name } }",
                BAD,
                {"t": text},
            ),
        ]
        if text.isprintable() or "\x00" in text:  # httpx cannot send a lone surrogate
            cases.append(
                export(
                    f"odd text {i} in export text",
                    "/export/activities.csv",
                    {"text": text},
                    harmless,
                    400 if harmless == BAD else 200,
                )
            )
    cases += [
        # Decoded with U+FFFD in place of the bad bytes: harmless text.
        Case(
            "invalid UTF-8 in a query parameter",
            OK,
            200,
            method="GET",
            path="/export/activities.csv?text=%ED%A0%80%FF",
        ),
        Case(
            "invalid UTF-8 in a GET query",
            BAD,
            400,
            method="GET",
            path="/graphql?query=%7B%20counties%20%7B%20name%FF%20%7D%20%7D",
            headers={"accept": "application/json"},
        ),
    ]
    return cases


def _geometry() -> list[Case]:
    bad_polygons: list[tuple[str, Any]] = [
        ("a string", "POLYGON((0 0, 1 0, 1 1, 0 0))"),
        ("a point", {"type": "Point", "coordinates": [10.7, 59.9]}),
        ("no coordinates", {"type": "Polygon"}),
        ("unclosed ring", _polygon([[[10.7, 59.9], [10.8, 59.9], [10.8, 60.0]]])),
        ("two positions", _polygon([[[10.7, 59.9], [10.7, 59.9]]])),
        ("strings as positions", _polygon([[["a", "b"], ["c", "d"], ["e", "f"], ["a", "b"]]])),
        ("lat out of range", _polygon([[[10, 95], [11, 95], [11, 96], [10, 95]]])),
        ("nested 500 deep", {"type": "Polygon", "coordinates": json.loads("[" * 500 + "]" * 500)}),
        ("10,001 vertices", _polygon([_ring(10_001)])),
        ("unknown type", {"type": "Hexagon", "coordinates": []}),
        ("feature without geometry", {"type": "Feature", "properties": {}}),
    ]
    cases = [
        gql(f"polygon: {name}", COVERAGE, BAD, {"area": {"polygon": polygon}})
        for name, polygon in bad_polygons
    ]
    # Documented as clipped to the region around Norway, and repaired: answers, no error.
    cases += [
        gql(
            "polygon: far outside Norway",
            COVERAGE,
            OK,
            {"area": {"polygon": _polygon([_ring(8, lon=-100, lat=0)])}},
        ),
        gql(
            "polygon: bow tie",
            COVERAGE,
            OK,
            {
                "area": {
                    "polygon": _polygon(
                        [[[10.7, 59.9], [10.8, 60.0], [10.8, 59.9], [10.7, 60.0], [10.7, 59.9]]]
                    )
                }
            },
        ),
    ]
    cases += [
        raw(
            "polygon with NaN",
            RAW_COVERAGE % '{"type": "Polygon", "coordinates": [[[NaN, 59],'
            " [11, 59], [11, 60], [NaN, 59]]]}",
            BAD,
            200,
        ),
        raw(
            "polygon with Infinity",
            RAW_COVERAGE % '{"type": "Polygon", "coordinates": '
            "[[[Infinity, 59], [11, 59], [11, 60], [Infinity, 59]]]}",
            BAD,
            200,
        ),
        gql(
            "two areas at once",
            COVERAGE,
            BAD,
            {"area": {"municipality": "0301", "bbox": [10, 59, 11, 60]}},
        ),
    ]
    for bbox in (
        [10, 59, 11],
        [11, 59, 10, 60],
        [10, 60, 11, 59],
        [10, 59, 11, 95],
        [10, 59, 11, 60, 61],
    ):
        cases.append(gql(f"bbox {bbox}", COVERAGE, BAD, {"area": {"bbox": bbox}}))
    coverage = {"withinMeters": "500", "unitKind": "BYDEL"}
    for value in (
        "a,b,c,d",
        "10,59,11",
        "nan,59,11,60",
        "inf,59,11,60",
        "11,59,10,60",
        "10,59,11,60,5",
        "1e999,59,11,60",
    ):
        cases.append(
            export(
                f"export bbox {value}",
                "/export/coverage.geojson",
                {**coverage, "bbox": value},
                BAD,
                400,
            )
        )
    cases += [
        export("export: unknown parameter", "/export/venues.csv", {"where": "1=1"}, BAD, 400),
        export("export: unknown kind", "/export/users.csv", {}, NOT_FOUND, 404),
        export("export: age abc", "/export/activities.csv", {"age": "abc"}, BAD, 400),
        export(
            "export: weekday Funday",
            "/export/activities.csv",
            {"weekday": "Funday", "time": "18:00"},
            BAD,
            400,
        ),
        export("export: sep tab", "/export/venues.csv", {"sep": "tab"}, BAD, 400),
        export(
            "export: category twice", "/export/venues.csv", {"category": "NOPE,ALSO_NOPE"}, BAD, 400
        ),
        export(
            "export: withinMeters inf",
            "/export/coverage.csv",
            {"municipality": "0301", "withinMeters": "inf", "unitKind": "BYDEL"},
            BAD,
            400,
        ),
        export("export: huge text", "/export/venues.csv", {"text": "x" * 5000}, BAD, 400),
    ]
    return cases


def corpus() -> list[Case]:
    return [
        *_malformed(),
        *_documents(),
        *_sizes(),
        *_numbers(),
        *_injections(),
        *_odd_texts(),
        *_geometry(),
    ]
