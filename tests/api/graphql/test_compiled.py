"""The compiled path (api.graphql.compiled) answers byte for byte what strawberry's path answers.

Two apps on the same demo database, one with ``compiled_queries`` on and one with it off, get
the same requests; their bodies must be equal, and the compiled app's counters show which path
answered (a query the compiled path takes must be answered by it, not quietly by the fallback).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
import strawberry
from sqlalchemy.engine import URL
from strawberry.types.arguments import convert_arguments
from strawberry.utils.str_converters import to_camel_case

from api.app import create_app
from api.graphql.compiled import CompiledQueries
from api.graphql.types.activity import Activity
from api.graphql.types.nearby import projection_of
from api.graphql.types.venue import Venue
from geo.db import sync_engine
from geo.filters import DirectoryFilter
from geo.queries.driver import driver_statement
from geo.queries.nearby import PlaceKind, _kind_statement
from geo.settings import Settings
from tests.api.conftest import compiled_of, http_client

pytestmark = pytest.mark.anyio

OSLO = {"lat": 59.9139, "lon": 10.7522}
GRORUD = {"lat": 59.9611, "lon": 10.8808}

PLAIN = """query Near($at: LatLonInput!, $first: Int, $after: String, $filter: DirectoryFilterInput,
             $kinds: [PlaceKind!]) {
  nearby(at: $at, radiusMeters: 3000, first: $first, after: $after, kinds: $kinds,
         filter: $filter) {
    edges { cursor distanceMeters node {
      __typename
      ... on Activity { id title description category targetGroups minAge maxAge languages
                        cost { free amountNok leisureCardAccepted } registrationRequired
                        registrationUrl status url location { lat lon } updatedAt archived
                        version }
      ... on Venue { id name location { lat lon } updatedAt version }
      ... on ImmigrantCouncil { id name }
    } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

#: Aliases, named fragments, a field asked twice, __typename on the connection.
SHAPES = """fragment Place on Activity { title where: location { lat } }
query Shapes($at: LatLonInput!) {
  near: nearby(at: $at, first: 7, kinds: [ACTIVITY, VENUE]) {
    __typename
    edges { d: distanceMeters node { ...Place ... on Activity { title category }
                                     ... on DirectoryEntry { version } } }
    edges { node { ... on Venue { name } } }
  }
}"""

#: What the compiled path leaves to strawberry: a field with a resolver of its own, a
#: directive, a second root field, introspection, errors of every kind.
FALLBACKS: list[tuple[str, dict[str, Any]]] = [
    ("query($at: LatLonInput!) { nearby(at: $at, first: 3) { totalCount } }", {"at": OSLO}),
    (
        "query($at: LatLonInput!) { nearby(at: $at, first: 3, kinds: [ACTIVITY]) { edges { node "
        "{ ... on Activity { title schedule { weekday start } } } } } }",
        {"at": OSLO},
    ),
    (
        "query($at: LatLonInput!, $no: Boolean!) { nearby(at: $at, first: 2) { edges "
        "{ cursor @skip(if: $no) distanceMeters } } }",
        {"at": OSLO, "no": True},
    ),
    (
        "query($at: LatLonInput!) { nearby(at: $at, first: 2) { edges { distanceMeters } } "
        "counties { number } }",
        {"at": OSLO},
    ),
    ("{ __schema { queryType { name } } }", {}),
    (
        "query($at: LatLonInput!) { nearby(at: $at, radiusMeters: -5) { edges { cursor } } }",
        {"at": OSLO},
    ),
    ("query($at: LatLonInput!) { nearby(at: $at, first: 101) { edges { cursor } } }", {"at": OSLO}),
    (
        'query($at: LatLonInput!) { nearby(at: $at, after: "bm9wZQ==") { edges { cursor } } }',
        {"at": OSLO},
    ),
    (
        "query($at: LatLonInput!) { nearby(at: $at) { edges { cursor } } }",
        {"at": {"lat": 95, "lon": 10}},
    ),
    (
        "query($at: LatLonInput!) { nearby(at: $at) { edges { cursor } } }",
        {"at": {"lat": "north", "lon": 10}},
    ),
    ("query($at: LatLonInput!) { nearby(at: $at) { edges { cursor } } }", {}),
    ("query($at: LatLonInput!) { nearby(at: $at) { edges { nope } } }", {"at": OSLO}),
    ("query($at: LatLonInput!) { nearby(at: $at) { edges { cursor } ", {"at": OSLO}),
]


async def _both(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient, CompiledQueries],
    query: str,
    variables: dict[str, Any],
) -> tuple[httpx.Response, httpx.Response]:
    compiled, plain, _ = clients
    body = {"query": query, "variables": variables}
    headers = {"x-request-id": "compare-1"}
    return (
        await compiled.post("/graphql", json=body, headers=headers),
        await plain.post("/graphql", json=body, headers=headers),
    )


async def _same(clients: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    fast, slow = await _both(clients, query, variables)
    assert (fast.status_code, fast.headers["content-type"]) == (
        slow.status_code,
        slow.headers["content-type"],
    )
    assert fast.headers.get("x-request-id") == slow.headers.get("x-request-id") == "compare-1"
    assert fast.content == slow.content
    return fast.json()


@pytest.mark.parametrize(
    "variables",
    [
        {"at": OSLO, "first": 20},
        {"at": GRORUD, "first": 5, "kinds": ["VENUE", "COUNCIL"]},
        {
            "at": OSLO,
            "first": 10,
            "kinds": ["ACTIVITY"],
            "filter": {"categories": ["LANGUAGE_CAFE"], "freeOnly": True},
        },
        {"at": OSLO, "first": 10, "filter": {"text": "leksehjelp"}},
        {"at": {"lat": 69.65, "lon": 18.96}, "first": 3},
        {"at": {"lat": 71.0, "lon": 25.0}, "first": 3},  # nothing within 3 km
    ],
)
async def test_plain_nearby_is_answered_by_the_compiled_path_as_strawberry_would(
    clients, variables
):
    compiled = clients[2]
    before = compiled.answered
    data = await _same(clients, PLAIN, variables)
    assert compiled.answered == before + 1
    assert "errors" not in data
    if variables["at"] != {"lat": 71.0, "lon": 25.0}:
        assert data["data"]["nearby"]["edges"]


#: Arguments mixing literals, defaults and variables (api.graphql.compiled converts the ones without
#: variables once per plan): (query, variables, whether the compiled path answers).
MIXED: list[tuple[str, dict[str, Any], bool]] = [
    (
        "query($at: LatLonInput!, $cat: ActivityCategory!) { nearby(at: $at, radiusMeters: 4000, "
        "first: 5, kinds: [ACTIVITY], filter: {categories: [$cat], freeOnly: true}) { edges { "
        "distanceMeters node { ... on Activity { id category cost { free } } } } } }",
        {"at": OSLO, "cat": "LANGUAGE_CAFE"},
        True,
    ),
    (
        "query($first: Int) { nearby(at: {lat: 59.9139, lon: 10.7522}, first: $first) { edges { "
        "distanceMeters } } }",
        {},
        True,
    ),
    (
        "query($first: Int) { nearby(at: {lat: 59.9139, lon: 10.7522}, first: $first) { edges { "
        "distanceMeters } } }",
        {"first": 2},
        True,
    ),
    (
        "query($first: Int) { nearby(at: {lat: 59.9139, lon: 10.7522}, first: $first) { edges { "
        "distanceMeters } } }",
        {"first": None},
        True,
    ),
    (
        "query($cat: ActivityCategory!) { nearby(at: {lat: 59.9139, lon: 10.7522}, first: 2, "
        "filter: {categories: [$cat]}) { edges { distanceMeters } } }",
        {},
        False,
    ),
    (
        "query($cat: ActivityCategory!) { nearby(at: {lat: 59.9139, lon: 10.7522}, first: 2, "
        "filter: {categories: [$cat]}) { edges { distanceMeters } } }",
        {"cat": "SPORTS"},
        True,
    ),
    (
        "query($cat: ActivityCategory!) { nearby(at: {lat: 59.9139, lon: 10.7522}, first: 2, "
        "filter: {categories: [$cat]}) { edges { distanceMeters } } }",
        {"cat": "NOPE"},
        False,
    ),
]


@pytest.mark.parametrize(("query", "variables", "compiled_answers"), MIXED)
async def test_literal_default_and_variable_arguments_give_strawberrys_answer(
    clients, query, variables, compiled_answers
):
    compiled = clients[2]
    before = compiled.answered
    for _ in range(2):  # the second time from the kept plan
        await _same(clients, query, variables)
    assert compiled.answered == before + (2 if compiled_answers else 0)


async def test_pages_follow_the_cursor_the_same_way(clients):
    compiled = clients[2]
    after = None
    for _ in range(3):
        data = await _same(clients, PLAIN, {"at": OSLO, "first": 4, "after": after})
        page = data["data"]["nearby"]
        after = page["pageInfo"]["endCursor"]
        assert page["pageInfo"]["hasNextPage"]
    assert compiled.answered >= 3


async def test_aliases_fragments_and_repeated_fields(clients):
    compiled = clients[2]
    data = await _same(clients, SHAPES, {"at": OSLO})
    edges = data["data"]["near"]["edges"]
    assert data["data"]["near"]["__typename"] == "NearbyConnection"
    assert {"d", "node"} <= set(edges[0])
    assert any("where" in edge["node"] for edge in edges)
    assert compiled.answered == 1


@pytest.mark.parametrize(("query", "variables"), FALLBACKS)
async def test_what_the_compiled_path_leaves_to_strawberry_is_answered_the_same(
    clients, query, variables
):
    compiled = clients[2]
    await _same(clients, query, variables)
    assert compiled.answered == 0


#: Selections of a few fields, each kind's statement then reading only their columns
#: (api.graphql.projection): (query, variables).
PROJECTED: list[tuple[str, dict[str, Any]]] = [
    (  # bench/peer.py's near-me
        "query($at: LatLonInput!, $cat: ActivityCategory!) { nearby(at: $at, radiusMeters: 5000, "
        "first: 20, kinds: [ACTIVITY], filter: {categories: [$cat]}) { edges { distanceMeters "
        "node { ... on Activity { id title category location { lat lon } } } } } }",
        {"at": OSLO, "cat": "LANGUAGE_CAFE"},
    ),
    (
        "query($at: LatLonInput!) { nearby(at: $at, first: 25) { edges { node { __typename "
        "... on Venue { name venueType ownerType suitableCategories priceModel accessibility "
        "amenities stepFree lastVerified capacity } } } } }",
        {"at": OSLO},
    ),
    (
        "query($at: LatLonInput!) { nearby(at: $at, first: 25) { edges { cursor node { "
        "... on DirectoryEntry { id updatedAt archived version } } } "
        "pageInfo { endCursor hasNextPage } } }",
        {"at": GRORUD},
    ),
    (
        "query($at: LatLonInput!) { nearby(at: $at, first: 25, kinds: [ACTIVITY, VENUE]) { "
        "edges { node { ... on Activity { cost { amountNok free } targetGroups languages "
        "status minAge maxAge } } } } }",
        {"at": OSLO},
    ),
    (
        "query($at: LatLonInput!) { nearby(at: $at, first: 12) { edges { cursor distanceMeters "
        "} } }",
        {"at": OSLO},
    ),
]


@pytest.mark.parametrize(("query", "variables"), PROJECTED)
async def test_selections_of_a_few_fields_give_strawberrys_answer(clients, query, variables):
    compiled = clients[2]
    before = compiled.answered
    data = await _same(clients, query, variables)
    assert compiled.answered == before + 1
    assert data["data"]["nearby"]["edges"]


@contextmanager
def no_api_objects(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Building an activity or a venue object fails inside: what runs in it renders rows."""

    def no_objects(*_args: Any) -> Any:
        raise AssertionError("an API object was built")

    with monkeypatch.context() as patched:
        patched.setattr(Activity, "from_row", no_objects)
        patched.setattr(Venue, "from_row", no_objects)
        yield


async def test_the_compiled_path_renders_rows_without_building_api_objects(clients, monkeypatch):
    """One pass: the fields of activities and venues are read straight from their rows, so
    the compiled answer needs no ``from_row`` (made to fail here, after strawberry's answer
    was taken) and is still strawberry's, byte for byte."""
    compiled, plain, queries = clients
    variables = {"at": OSLO, "first": 30, "kinds": ["ACTIVITY", "VENUE"]}
    body = {"query": PLAIN, "variables": variables}
    expected = (await plain.post("/graphql", json=body)).content

    with no_api_objects(monkeypatch):
        before = queries.answered
        got = (await compiled.post("/graphql", json=body)).content
        assert queries.answered == before + 1
    assert got == expected
    edges = orjson.loads(got)["data"]["nearby"]["edges"]
    assert {edge["node"]["__typename"] for edge in edges} == {"Activity", "Venue"}


async def test_a_selection_reads_only_its_own_columns_never_the_contact_fields(clients):
    compiled = clients[2]
    plan = compiled.plan(PROJECTED[0][0], None)
    assert plan is not None
    assert plan.reads is not None
    assert plan.reads["Activity"] == {"id", "title", "category", "location"}
    projection = projection_of(plan.reads)
    assert projection is not None
    columns = projection.columns[PlaceKind.ACTIVITY]
    assert columns == {"id", "title", "category", "x", "y"}
    statement = driver_statement(
        _kind_statement(PlaceKind.ACTIVITY, DirectoryFilter(categories=("SPORTS",)), None, columns)
    )
    # and the distance and staleness computed for the order
    assert set(statement.columns) == {"id", "title", "category", "x", "y", "distance", "stale"}
    assert "contact" not in statement.sql
    # A venue's fields only: the activities' statement reads their ids alone.
    venues_only = compiled.plan(PROJECTED[1][0], None)
    assert venues_only is not None
    assert venues_only.reads is not None
    projection = projection_of(venues_only.reads)
    assert projection is not None
    assert projection.columns[PlaceKind.ACTIVITY] == set()
    assert (
        not {"contact_name", "contact_email", "contact_phone"} & projection.columns[PlaceKind.VENUE]
    )


def test_a_field_outside_the_table_keeps_every_column() -> None:
    """`contact` is a resolver that checks the caller (the compiled path leaves it to
    strawberry): a kind whose selection meets it keeps its whole rows and API objects."""
    assert not Activity.ROW_TABLE.readable({"title", "contact"})
    projection = projection_of({"Activity": frozenset({"title", "contact"})})
    assert projection is not None
    assert PlaceKind.ACTIVITY not in projection.columns
    assert projection.columns[PlaceKind.VENUE] == set()


async def test_plans_are_kept_per_query_text_within_the_cache(clients):
    compiled = clients[2]
    plan = compiled.plan(PLAIN, None)
    assert plan is not None
    assert compiled.plan(PLAIN, None) is plan
    assert compiled.plan(FALLBACKS[0][0], None) is None
    assert compiled.plan(PLAIN, "Elsewhere") is None  # no operation of that name


NEAR = (
    "query($at: LatLonInput!) { nearby(at: $at, first: 3) { edges { distanceMeters } } }",
    {"at": OSLO},
)
MUNICIPALITY = ('{ municipality(number: "0301") { name } }', {})


def _terminate_backends(url: URL) -> int:
    """Close the server's side of every other connection to the database, as a restart does."""
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    activity = sa.table("pg_stat_activity", sa.column("pid"), sa.column("datname"))
    try:
        with engine.connect() as conn:
            return len(
                conn.execute(
                    sa.select(sa.func.pg_terminate_backend(activity.c.pid)).where(
                        activity.c.datname == url.database,
                        activity.c.pid != sa.func.pg_backend_pid(),
                    )
                ).all()
            )
    finally:
        engine.dispose()


async def test_connections_the_server_dropped_are_replaced_without_an_error(
    api_settings: Settings, fresh_demo_url: URL
):
    """No ping before each checkout: a dead pooled connection fails on use, and the read is
    tried once more on a new one, on both ways to the database (SQLAlchemy and psycopg)."""
    settings = api_settings.model_copy(
        update={"database_url": fresh_demo_url.render_as_string(hide_password=False)}
    )
    app = create_app(settings)
    async with http_client(app) as client:
        for query, variables in (NEAR, MUNICIPALITY) * 2:  # two pooled connections
            answer = (
                await client.post("/graphql", json={"query": query, "variables": variables})
            ).json()
            assert "errors" not in answer, answer
        compiled = compiled_of(app)
        for query, variables in (MUNICIPALITY, NEAR):  # each way first on a dead connection
            assert _terminate_backends(fresh_demo_url) >= 1
            answered = compiled.answered
            answer = (
                await client.post("/graphql", json={"query": query, "variables": variables})
            ).json()
            assert "errors" not in answer, answer
            # The compiled path answered itself, not through strawberry's after a failure.
            assert compiled.answered == answered + (query == NEAR[0])


@pytest.mark.parametrize(
    ("scalar", "values"),
    [
        ("String", ["", "Språkkafé", "x" * 300]),
        ("ID", ["QWN0aXZpdHk6MQ=="]),
        ("Boolean", [True, False]),
        ("Int", [0, -(2**31), 2**31 - 1]),
        ("Float", [0.0, -1.5, 1e300, 59.9139]),
    ],
)
def test_the_shortcut_for_built_in_scalars_is_what_graphql_core_serializes(scalar, values):
    from api.graphql.compiled import _EXACT_TYPES, _UNCHANGED
    from api.graphql.schema import build_schema

    serialize = build_schema()._schema.get_type(scalar).serialize
    for value in values:
        assert _UNCHANGED[scalar](value)
        if scalar in _EXACT_TYPES:  # every value of the type is unchanged
            assert type(value) is _EXACT_TYPES[scalar]
        assert serialize(value) == value
        assert type(serialize(value)) is type(value)
    # And what it leaves to the serializer really changes or fails there.
    assert not _UNCHANGED["Int"](2**31)
    assert not _UNCHANGED["Float"](float("nan"))
    assert not _UNCHANGED["String"](1)


def test_floats_render_as_graphql_core_serializes_them() -> None:
    from graphql import GraphQLError

    from api.graphql.compiled import _float
    from api.graphql.schema import build_schema

    leaf = build_schema()._schema.get_type("Float")
    render = _float(leaf, non_null=False)
    for value in (0.0, -1.5, 1e300, 59.9139, 3, True, "2.5"):
        assert render(value) == leaf.serialize(value)
        assert type(render(value)) is type(leaf.serialize(value))
    assert render(None) is None
    for bad in (float("inf"), float("nan"), "north"):
        with pytest.raises(GraphQLError):
            render(bad)


@strawberry.input
class _Probe:
    a: float
    b: int | None = None
    c: str | None
    d: bool = True


@strawberry.type
class _ProbeQuery:
    @strawberry.field
    def probe(self, point: _Probe, given: _Probe | None = None) -> int:
        return 0


def _flat_cases(definition: Any) -> list[dict[str, Any]]:
    """Values for an input type of built-in scalars: all fields, and each optional one left
    out."""
    samples = {float: 1.5, int: 3, str: "x", bool: False}
    full = {}
    for field in definition.fields:
        field_type = field.resolve_type(type_definition=definition)
        leaf = getattr(field_type, "of_type", field_type)
        full[field.graphql_name or to_camel_case(field.python_name)] = samples[leaf]
    return [full, *({k: v for k, v in full.items() if k != left} for left in full)]


@pytest.mark.parametrize("schema_of", ["hverdag", "probe"])
def test_flat_inputs_convert_as_strawberry_does(schema_of: str) -> None:
    from api.graphql.compiled import _flat_input
    from api.graphql.schema import build_schema

    schema = build_schema() if schema_of == "hverdag" else strawberry.Schema(query=_ProbeQuery)
    names = schema.config.name_converter
    registry = schema.schema_converter.scalar_registry
    checked = 0
    roots = [schema.query, schema.mutation] if schema.mutation else [schema.query]
    for root in roots:
        for field in root.__strawberry_definition__.fields:
            for argument in field.arguments:
                convert = _flat_input(argument, names)
                if convert is None:
                    continue
                name = names.from_argument(argument)
                wrapped = argument.type
                input_type = getattr(wrapped, "of_type", wrapped)
                values = _flat_cases(input_type.__strawberry_definition__)
                if hasattr(wrapped, "of_type"):
                    values.append(None)
                for value in values:
                    expected = convert_arguments(
                        {name: value},
                        field.arguments,
                        scalar_registry=registry,
                        config=schema.config,
                    )
                    assert convert(value) == expected, (field.name, name, value)
                    checked += 1
    assert checked >= (3 if schema_of == "hverdag" else 8)


def test_the_compiled_path_refuses_a_schema_extension_it_does_not_know():
    from strawberry.extensions import MaskErrors

    from api.graphql.compiled import UnknownExtensionError
    from api.graphql.schema import build_schema, compiled_queries

    compiled_queries(build_schema())  # the schema's own extensions are known
    with pytest.raises(UnknownExtensionError, match="MaskErrors"):
        compiled_queries(build_schema(extra_extensions=[MaskErrors]))


async def test_giving_up_is_counted_and_logged(api_settings, caplog):
    query = (
        "query($lat: Float!) { nearby(at: {lat: $lat, lon: 10.75}, first: 2) "
        "{ edges { distanceMeters } } }"
    )
    async with http_client(create_app(api_settings)) as client:
        good = await client.post("/graphql", json={"query": query, "variables": {"lat": 59.91}})
        assert "errors" not in good.json()
        with caplog.at_level("DEBUG", logger="hverdag.api"):
            bad = await client.post("/graphql", json={"query": query, "variables": {"lat": 999}})
        assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        metrics = (await client.get("/metrics")).text
    assert "hverdag_graphql_compiled_fallbacks_total 1.0" in metrics
    assert any("compiled path gave up" in r.getMessage() for r in caplog.records)
