"""Schema-driven fuzzing (hypothesis-graphql): queries generated from the schema itself, valid
ones and ones with a single violation, sent over HTTP to the app on the demo data. None may get a
5xx, and every error must carry extensions.code (never INTERNAL_SERVER_ERROR).

Bounded: a fixed number of examples each (about half a minute in all on a quiet machine).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC
from functools import partial
from typing import Any

import graphql
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, nodes, queries

from api.app import create_app
from api.graphql.schema_export import export_schema
from tests.api.conftest import http_client

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _field(name: str, value: graphql.ValueNode) -> graphql.ObjectFieldNode:
    return graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=value)


position = st.tuples(
    st.floats(min_value=-180, max_value=180), st.floats(min_value=-90, max_value=90)
).map(lambda p: nodes.List([nodes.Float(p[0]), nodes.Float(p[1])]))
ring = st.lists(position, min_size=0, max_size=6).map(nodes.List)
geojson = st.tuples(
    st.sampled_from(["Polygon", "MultiPolygon", "Point"]), st.lists(ring, max_size=2)
).map(
    lambda t: nodes.Object(
        [_field("type", nodes.String(t[0])), _field("coordinates", nodes.List(t[1]))]
    )
)
CUSTOM_SCALARS = {
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(lambda d: nodes.String(d.isoformat())),
    "Date": st.dates().map(nodes.String),
    "Time": st.times().map(lambda t: nodes.String(t.isoformat())),
    "JSON": geojson | st.text(max_size=10).map(nodes.String),
}


@pytest.fixture(scope="module")
def sync_client(api_settings) -> Iterator[Callable[[str], Any]]:
    """Sends a query to the app (lifespan run) from hypothesis's synchronous test: the app and
    its async engine live on an event loop in a portal thread for the whole module."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(http_client(create_app(api_settings))) as client,
    ):
        yield lambda query: portal.call(partial(client.post, "/graphql", json={"query": query}))


def _check(send: Callable[[str], Any], query: str, *, refused: bool) -> None:
    response = send(query)
    assert response.status_code < 500, (query, response.text)
    body: dict[str, Any] = response.json()
    errors = body.get("errors") or []
    if refused:
        assert errors, (query, body)
    for error in errors:
        code = error.get("extensions", {}).get("code")
        assert code, (query, error)
        assert code != "INTERNAL_SERVER_ERROR", (query, error)


SCHEMA = export_schema()


@FUZZ
@given(query=queries(SCHEMA, custom_scalars=CUSTOM_SCALARS, mode=Mode.POSITIVE))
def test_valid_queries_never_fail_unexpectedly(sync_client, query):
    _check(sync_client, query, refused=False)


@FUZZ
@given(query=queries(SCHEMA, custom_scalars=CUSTOM_SCALARS, mode=Mode.NEGATIVE))
def test_invalid_queries_are_refused_with_a_code(sync_client, query):
    _check(sync_client, query, refused=True)
