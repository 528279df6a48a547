"""Every error carries extensions.code; client errors say why; the unexpected are masked."""

from __future__ import annotations

import logging

import pytest
from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.extensions.validation_cache import _get_validate_cache

from api.graphql.context import Context
from api.graphql.schema import CACHE_SIZE, MAX_ALIASES, MAX_DEPTH, MAX_OBJECTS
from geo.db import async_engine
from tests.api.conftest import bad_input

pytestmark = pytest.mark.anyio

WHERE = """query ($lat: Float!, $lon: Float!) {
  whereAmI(at: {lat: $lat, lon: $lon}) { county { name } } }"""


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        (91, 10, "at.lat"),
        (-90.0001, 10, "at.lat"),
        (59, 180.5, "at.lon"),
        (59, -181, "at.lon"),
    ],
)
async def test_out_of_range(gql, lat, lon, field):
    error = bad_input(await gql(WHERE, {"lat": lat, "lon": lon}))
    assert error["extensions"]["field"] == field
    assert "within" in error["message"]


async def test_range_edges_are_accepted(gql):
    data = await gql.data(WHERE, {"lat": 90, "lon": -180})
    assert data == {"whereAmI": {"county": None}}


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), float("-inf"), "abc", "", None, True, [59.9]]
)
async def test_non_numbers_in_variables(gql, value):
    error = bad_input(await gql(WHERE, {"lat": 59.9, "lon": value}))
    assert "$lon" in error["message"]


@pytest.mark.parametrize("literal", ['"abc"', "NaN", "Infinity", "null", "[1]"])
async def test_non_numbers_as_literals(gql, literal):
    result = await gql(f"{{ whereAmI(at: {{lat: 59.9, lon: {literal}}}) {{ county {{ name }} }} }}")
    error = bad_input(result)
    assert result.data is None
    assert error["extensions"]["reason"] == error["message"]


@pytest.mark.parametrize(
    "document",
    [
        "{ whereAmI(at: {lat: 59.9, lon: 10.7}) { county { name }",  # syntax
        "{ nosuchfield }",  # validation
        "{ whereAmI(at: {lat: 59.9}) { county { name } } }",  # missing lon
        "query ($n: String!) { municipality(number: $n) { name } }",  # missing variable
    ],
)
async def test_document_errors(gql, document):
    bad_input(await gql(document))


def _nest(fields: list[str]) -> str:
    return fields[0] if len(fields) == 1 else f"{fields[0]} {{ {_nest(fields[1:])} }}"


def _chain(depth: int) -> str:
    """whereAmI { municipality { county { municipalities { county … } } } }."""
    fields = ["whereAmI(at: {lat: 59.9, lon: 10.7})", "municipality", "county"]
    fields = [*(fields + ["municipalities", "county"] * depth)[: depth - 1], "number"]
    return "{ " + _nest(fields) + " }"


async def test_depth_limit(gql):
    # graphql-depth-limit counts the root fields as depth 0.
    result = await gql(_chain(MAX_DEPTH + 2))
    codes = {e.extensions["code"] for e in result.errors}
    assert codes == {"QUERY_TOO_COMPLEX"}
    assert any("depth" in e.message for e in result.errors)


async def test_nested_lists_are_refused_before_they_run(gql):
    # Within the depth limit, but each list multiplies: ~10^9 objects at depth ten.
    fields = ["counties", *["municipalities", "county"] * 4, "number"]
    result = await gql("{ " + _nest(fields) + " }")
    (error,) = result.errors
    assert error.extensions["code"] == "QUERY_TOO_COMPLEX"
    assert error.extensions["estimate"] > error.extensions["limit"] == MAX_OBJECTS
    assert "objects" in error.message
    # One level of county -> municipalities is fine, and so are all boundaries at once.
    data = await gql.data("""{ counties { municipalities {
        number county { name } boundary(simplifyMeters: 5000) } } }""")
    assert sum(len(c["municipalities"]) for c in data["counties"]) == 356


async def test_variables_are_costed_at_the_largest_page(gql):
    query = """query ($n: Int) { municipalities(first: $n) { edges { node {
        county { municipalities { county { municipalities { number } } } } } } } }"""
    result = await gql(query, {"n": 1})
    assert [e.extensions["code"] for e in result.errors] == ["QUERY_TOO_COMPLEX"]


async def test_graphiql_introspection_passes_and_deep_introspection_does_not(gql):
    from graphql import get_introspection_query

    data = await gql.data(get_introspection_query(descriptions=True))
    assert data["__schema"]["queryType"]["name"] == "Query"
    deep = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    result = await gql(deep)
    (error,) = result.errors
    assert error.extensions["code"] == "BAD_USER_INPUT"
    assert "introspection depth" in error.message


async def test_alias_limit(gql):
    aliases = " ".join(
        f'm{i}: municipality(number: "0301") {{ name }}' for i in range(MAX_ALIASES + 1)
    )
    result = await gql("{ " + aliases + " }")
    assert [e.extensions["code"] for e in result.errors] == ["QUERY_TOO_COMPLEX"]
    within = " ".join(f'm{i}: municipality(number: "0301") {{ name }}' for i in range(MAX_ALIASES))
    assert (await gql.data("{ " + within + " }"))["m0"] == {"name": "Oslo"}


async def test_unexpected_exception_is_masked_and_logged(gql, monkeypatch, caplog):
    async def explode(conn, x, y):
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr("api.graphql.types.location.where_am_i_on_driver", explode)
    with caplog.at_level(logging.ERROR, logger="hverdag.api"):
        result = await gql(WHERE, {"lat": 59.9, "lon": 10.7})
    assert result.data is None
    (error,) = [e.formatted for e in result.errors]
    assert error["message"] == "Internal error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    request_id = error["extensions"]["requestId"]
    assert error["path"] == ["whereAmI"]
    assert "hunter2" not in str(error)
    assert "RuntimeError" not in str(error)
    (record,) = [r for r in caplog.records if r.name == "hverdag.api"]
    assert record.levelno == logging.ERROR
    assert request_id in record.getMessage()
    assert "whereAmI" in record.getMessage()
    assert record.exc_info
    assert isinstance(record.exc_info[1], RuntimeError)
    assert "hunter2" in caplog.text
    assert "Traceback" in caplog.text


async def test_database_outage_is_unavailable(schema, api_settings, loaded_url, caplog):
    missing = loaded_url.set(database="hverdag_no_such_database")
    engine = async_engine(missing, api_settings)
    try:
        with caplog.at_level(logging.WARNING, logger="hverdag.api"):
            result = await schema.execute(
                '{ municipality(number: "0301") { name } }', context_value=Context(engine=engine)
            )
    finally:
        await engine.dispose()
    (error,) = [e.formatted for e in result.errors]
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert error["extensions"]["requestId"]
    assert "hverdag_no_such_database" not in str(error)
    assert "hverdag_no_such_database" in caplog.text


async def test_parse_and_validation_caches_live_for_the_process(gql):
    query = '{ municipality(number: "0301") { name } }'
    await gql.data(query)
    parsed, validated = (
        _get_parse_cache(CACHE_SIZE).cache_info(),
        _get_validate_cache(CACHE_SIZE).cache_info(),
    )
    for _ in range(3):
        await gql.data(query)
    assert _get_parse_cache(CACHE_SIZE).cache_info().hits == parsed.hits + 3
    assert _get_validate_cache(CACHE_SIZE).cache_info().hits == validated.hits + 3
