"""An explicit null for an argument that has a default is the client's error, never an internal
one: BAD_USER_INPUT naming the argument when its type is non-null (the spec's field error), the
resolver's own answer when the argument may be null.

One test is generated from the schema: every argument of every root field (Query and Mutation)
that has a default value gets an explicit null through a variable, the required arguments a
value of their type. The non-null arguments with a default below the root are listed with a
query each, and a test checks the list is complete, so a new one cannot go untested.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    get_named_type,
    is_input_object_type,
    is_leaf_type,
)
from strawberry.types.base import StrawberryOptional

pytestmark = pytest.mark.anyio

#: A value of each scalar, for the required arguments of a generated query.
_SCALARS: dict[str, Any] = {
    "String": "x",
    "ID": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "DateTime": "2026-01-01T00:00:00Z",
    "Date": "2026-01-01",
    "Time": "10:00:00",
    "JSON": {},
}


def _sample(type_: GraphQLInputType) -> Any:
    """A value of ``type_`` that coerces (what it means is not the point)."""
    if isinstance(type_, GraphQLNonNull):
        return _sample(type_.of_type)
    if isinstance(type_, GraphQLList):
        return [_sample(type_.of_type)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLScalarType):
        return _SCALARS[type_.name]
    assert isinstance(type_, GraphQLInputObjectType)
    return {
        name: _sample(field.type)
        for name, field in type_.fields.items()
        if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
    }


def _nullable(type_: GraphQLInputType) -> GraphQLInputType:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _python_optional(
    schema: strawberry.Schema, root: GraphQLObjectType, field_name: str, argument: str
) -> bool:
    """Whether the resolver's Python type for the argument admits None."""
    names = schema.config.name_converter
    definition = root.extensions["strawberry-definition"]
    (field,) = [f for f in definition.fields if names.get_graphql_name(f) == field_name]
    (found,) = [a for a in field.arguments if names.get_graphql_name(a) == argument]
    return isinstance(found.type, StrawberryOptional)


def _defaulted(schema: strawberry.Schema) -> Iterator[tuple[str, str, str]]:
    """(operation, root field, argument) for every root argument with a default value."""
    graphql_schema = schema._schema
    for operation, root in (
        ("query", graphql_schema.query_type),
        ("mutation", graphql_schema.mutation_type),
    ):
        assert root is not None
        for field_name, field in root.fields.items():
            for argument, definition in field.args.items():
                if definition.default_value is not Undefined:
                    yield operation, field_name, argument


def _null_query(
    schema: strawberry.Schema, operation: str, field_name: str, argument: str
) -> tuple[str, dict[str, Any], GraphQLArgument]:
    """``field_name`` with ``argument`` given ``$v`` (null) and every required argument a
    value of its type."""
    graphql_schema = schema._schema
    root = graphql_schema.query_type if operation == "query" else graphql_schema.mutation_type
    assert root is not None
    field = root.fields[field_name]
    definitions = [f"$v: {_nullable(field.args[argument].type)}"]
    given = [f"{argument}: $v"]
    variables: dict[str, Any] = {"v": None}
    for i, (name, definition) in enumerate(field.args.items()):
        if name == argument or definition.default_value is not Undefined:
            continue
        if isinstance(definition.type, GraphQLNonNull):
            definitions.append(f"$r{i}: {definition.type}")
            given.append(f"{name}: $r{i}")
            variables[f"r{i}"] = _sample(definition.type)
    selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
    query = (
        f"{operation} Q({', '.join(definitions)}) {{ {field_name}({', '.join(given)}){selection} }}"
    )
    return query, variables, field.args[argument]


def test_the_walk_finds_the_arguments_the_issue_names(schema):
    found = set(_defaulted(schema))
    assert {("query", "councilCoverage", "groupBy"), ("query", "nearby", "radiusMeters")} <= found
    assert ("mutation", "importVenues", "source") in found


async def test_an_explicit_null_for_any_root_argument_with_a_default_is_no_internal_error(
    schema, gql
):
    checked = 0
    for operation, field_name, argument in _defaulted(schema):
        query, variables, definition = _null_query(schema, operation, field_name, argument)
        root = schema._schema.query_type if operation == "query" else schema._schema.mutation_type
        non_null = isinstance(definition.type, GraphQLNonNull)
        # The schema is honest: a non-null GraphQL argument is a non-optional Python one.
        assert non_null == (not _python_optional(schema, root, field_name, argument)), (
            field_name,
            argument,
        )
        result = await gql(query, variables)
        codes = [e.formatted["extensions"]["code"] for e in result.errors or ()]
        assert "INTERNAL_SERVER_ERROR" not in codes, (query, [e.formatted for e in result.errors])
        if non_null:
            (error,) = [e.formatted for e in result.errors]
            assert error["extensions"]["code"] == "BAD_USER_INPUT", (query, error)
            assert error["extensions"]["field"] == argument, (query, error)
            assert error["extensions"]["reason"]
            assert argument in error["message"]
            assert "Traceback" not in str(error)
        checked += 1
    assert checked >= 20


#: Non-null arguments (and input fields) with a default below the root: a query giving each
#: an explicit null, and the field the error names.
NESTED: dict[tuple[str, str], tuple[str, dict[str, Any], str]] = {
    ("CoverageReport", "gaps.first"): (
        'query Q($v: Int) { coverage(area: {municipality: "0301"}, target: {}, '
        "withinMeters: 1000, unitKind: GRID_1KM) { gaps(first: $v) { code } } }",
        {"v": None},
        "first",
    ),
    ("Activity", "nextSessions.first"): (
        "query Q($v: Int) { activities(first: 1) { edges { node { nextSessions(first: $v) "
        "{ start } } } } }",
        {"v": None},
        "first",
    ),
    ("NearInput", "radiusMeters"): (
        "query Q($v: Float) { venues(near: {at: {lat: 59.91, lon: 10.75}, radiusMeters: $v}) "
        "{ __typename } }",
        {"v": None},
        "near.radiusMeters",
    ),
}


def _nested_defaults(schema: strawberry.Schema) -> set[tuple[str, str]]:
    """Every non-null argument of a non-root field, and every non-null input field, that has a
    default value."""
    graphql_schema = schema._schema
    roots = {graphql_schema.query_type, graphql_schema.mutation_type}
    found = set()
    for type_ in graphql_schema.type_map.values():
        if type_.name.startswith("__"):
            continue
        if isinstance(type_, GraphQLObjectType) and type_ not in roots:
            for field_name, field in type_.fields.items():
                for argument, definition in field.args.items():
                    if definition.default_value is not Undefined and isinstance(
                        definition.type, GraphQLNonNull
                    ):
                        found.add((type_.name, f"{field_name}.{argument}"))
        if is_input_object_type(type_):
            assert isinstance(type_, GraphQLInputObjectType)
            for name, input_field in type_.fields.items():
                if input_field.default_value is not Undefined and isinstance(
                    input_field.type, GraphQLNonNull
                ):
                    found.add((type_.name, name))
    return found


def test_every_nested_non_null_default_has_a_query(schema):
    assert _nested_defaults(schema) == set(NESTED)


@pytest.mark.parametrize("key", sorted(NESTED))
async def test_an_explicit_null_below_the_root_is_bad_user_input(gql, key):
    query, variables, field = NESTED[key]
    result = await gql(query, variables)
    (error,) = [e.formatted for e in result.errors]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"] == field


#: The issue's two queries.
ISSUE = [
    (
        "query Q($v: CouncilGroupBy) { councilCoverage(groupBy: $v) { __typename } }",
        "groupBy",
    ),
    (
        "query Q($v: Float) { nearby(at: {lat: 59.9139, lon: 10.7522}, radiusMeters: $v) "
        "{ edges { distanceMeters } } }",
        "radiusMeters",
    ),
]


@pytest.mark.parametrize(("query", "field"), ISSUE)
async def test_the_issues_queries_over_http_with_and_without_the_compiled_path(
    clients,
    query,
    field,
):
    """The compiled path (which converts `nearby`'s arguments itself) leaves the null to the
    normal path: both apps answer the same bytes, a BAD_USER_INPUT naming the argument."""
    fast_client, plain_client, compiled = clients
    before = compiled.answered
    body = {"query": query, "variables": {"v": None}}
    headers = {"x-request-id": "null-1"}
    fast = await fast_client.post("/graphql", json=body, headers=headers)
    slow = await plain_client.post("/graphql", json=body, headers=headers)
    assert (fast.status_code, fast.content) == (slow.status_code, slow.content)
    (error,) = fast.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"] == field
    assert compiled.answered == before
    # Left out, the argument takes its default on both paths.
    omitted = {"query": query, "variables": {}}
    fast = await fast_client.post("/graphql", json=omitted, headers=headers)
    slow = await plain_client.post("/graphql", json=omitted, headers=headers)
    assert fast.content == slow.content
    assert "errors" not in fast.json()
