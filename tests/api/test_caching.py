"""HTTP caching (api/guard/caching.py) and the documents a request may name by hash
(api/graphql/transport.py): ETag and 304, Cache-Control by kind of answer, Vary; automatic
persisted queries and trusted documents."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.graphql.transport import PersistedDocuments, answer_media_type
from geo.settings import Settings, load_settings
from tests.api.conftest import http_client

pytestmark = pytest.mark.anyio

COUNTIES = "{ counties { number name } }"


def _sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def _persisted(sha: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


def _vary(response: httpx.Response) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("vary", "").split(",") if v.strip()}


def _graphql_view(app: Any) -> Any:
    return next(route for route in app.routes if getattr(route, "path", "") == "/graphql").endpoint


def _settings(api_settings: Settings, **changes: Any) -> Settings:
    return load_settings(**{**api_settings.model_dump(), **changes})


# --- ETag, 304, Cache-Control, Vary ---------------------------------------------------------------


async def test_a_get_query_twice_answers_304_the_second_time(client: httpx.AsyncClient) -> None:
    first = await client.get("/graphql", params={"query": COUNTIES})
    assert first.status_code == 200
    assert first.json()["data"]["counties"]
    etag = first.headers["etag"]
    assert etag.startswith('"'), etag  # strong: no W/
    assert first.headers["cache-control"] == "public, max-age=60"
    assert {"accept", "authorization"} <= _vary(first)

    again = await client.get(
        "/graphql", params={"query": COUNTIES}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=60"

    other = await client.get(
        "/graphql", params={"query": COUNTIES}, headers={"If-None-Match": '"something-else"'}
    )
    assert other.status_code == 200
    assert other.json() == first.json()


async def test_a_web_app_on_another_origin_may_revalidate(client: httpx.AsyncClient) -> None:
    origin = {"origin": "https://app.example"}
    preflight = await client.options(
        "/graphql",
        headers={
            **origin,
            "access-control-request-method": "GET",
            "access-control-request-headers": "if-none-match",
        },
    )
    assert preflight.status_code == 200
    assert "if-none-match" in preflight.headers["access-control-allow-headers"].lower()
    answer = await client.get("/graphql", params={"query": COUNTIES}, headers=origin)
    assert "etag" in answer.headers["access-control-expose-headers"].lower()
    again = await client.get(
        "/graphql",
        params={"query": COUNTIES},
        headers={**origin, "If-None-Match": answer.headers["etag"]},
    )
    assert again.status_code == 304
    assert again.headers["access-control-allow-origin"] == "*"


async def test_the_media_type_is_part_of_the_etag(client: httpx.AsyncClient) -> None:
    json_answer = await client.get("/graphql", params={"query": COUNTIES})
    spec_answer = await client.get(
        "/graphql",
        params={"query": COUNTIES},
        headers={"Accept": "application/graphql-response+json, application/json;q=0.9"},
    )
    assert json_answer.headers["content-type"].startswith("application/json")
    assert spec_answer.headers["content-type"].startswith("application/graphql-response+json")
    assert json_answer.json() == spec_answer.json()
    assert json_answer.headers["etag"] != spec_answer.headers["etag"]  # Vary: Accept


async def test_errors_and_posts_are_never_stored(client: httpx.AsyncClient) -> None:
    bad = await client.get("/graphql", params={"query": "{ nosuchfield }"})
    assert bad.status_code == 200
    assert bad.json()["errors"]
    assert bad.headers["cache-control"] == "no-store"
    assert "etag" not in bad.headers
    post = await client.post("/graphql", json={"query": COUNTIES})
    assert post.status_code == 200
    assert post.headers["cache-control"] == "no-store"
    for path in ("/healthz", "/readyz"):
        assert (await client.get(path)).headers["cache-control"] == "no-store"


async def test_a_keyed_request_is_never_public(write_url, keys) -> None:
    url = write_url.render_as_string(hide_password=False)
    app = create_app(load_settings(database_url=url, rate_limit_enabled=False))
    secret = keys["analyst"][0]
    async with http_client(app) as client:
        for path, params in (
            ("/graphql", {"query": COUNTIES}),
            ("/export/venues.csv", {}),
            ("/export/hsds/organizations.json", {}),
            ("/ogc/collections", {}),
        ):
            keyed = await client.get(
                path, params=params, headers={"Authorization": f"Bearer {secret}"}
            )
            assert keyed.status_code == 200, (path, keyed.text[:300])
            assert keyed.headers["cache-control"] == "private, no-store", path
            assert "public" not in keyed.headers["cache-control"]
            assert "etag" not in keyed.headers
            public = await client.get(path, params=params)
            assert public.headers["cache-control"].startswith("public"), path
            assert "authorization" in _vary(public), path


@pytest.mark.parametrize("path", ["/ogc/collections", "/ogc/collections/venues/items?limit=5"])
async def test_ogc_answers_revalidate(client: httpx.AsyncClient, path: str) -> None:
    first = await client.get(path)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "public, max-age=60"
    etag = first.headers["etag"]
    again = await client.get(path, headers={"If-None-Match": f'W/{etag}, "x"'})
    assert again.status_code == 304, path
    assert again.content == b""


@pytest.mark.parametrize("path", ["/export/venues.csv", "/export/hsds/organizations.json"])
async def test_streamed_exports_are_public_but_carry_no_etag(
    client: httpx.AsyncClient, path: str
) -> None:
    """An export streams its first rows while the database reads the rest (docs/exports.md):
    its headers leave before its last byte, so it has Cache-Control and Vary, not an ETag."""
    answer = await client.get(path)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=60"
    assert {"accept", "authorization"} <= _vary(answer)
    assert "etag" not in answer.headers


async def test_an_answer_over_the_held_size_passes_without_an_etag(
    api_settings: Settings,
) -> None:
    app = create_app(api_settings)
    for middleware in app.user_middleware:
        if middleware.cls.__name__ == "HttpCache":
            middleware.kwargs["max_buffered"] = 100
    async with http_client(app) as client:
        big = await client.get("/graphql", params={"query": COUNTIES})
        assert big.status_code == 200
        assert len(big.content) > 100
        assert "etag" not in big.headers
        assert big.headers["cache-control"] == "public, max-age=60"
        small = await client.get("/graphql", params={"query": "{ __typename }"})
        assert "etag" in small.headers


async def test_max_age_zero_means_revalidate(api_settings: Settings) -> None:
    async with http_client(create_app(_settings(api_settings, cache_max_age_s=0))) as client:
        first = await client.get("/graphql", params={"query": COUNTIES})
        assert first.headers["cache-control"] == "public, no-cache"
        again = await client.get(
            "/graphql", params={"query": COUNTIES}, headers={"If-None-Match": first.headers["etag"]}
        )
        assert again.status_code == 304


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/graphql-response+json", "application/graphql-response+json"),
        (
            "application/graphql-response+json, application/json;q=0.9",
            "application/graphql-response+json",
        ),
        ("application/graphql-response+json;q=0.5, application/json", "application/json"),
        ("application/graphql-response+json;q=0", "application/json"),
    ],
)
def test_answer_media_type(accept: str | None, expected: str) -> None:
    assert answer_media_type(accept) == expected


async def test_request_errors_under_the_spec_media_type(client: httpx.AsyncClient) -> None:
    spec = {"Accept": "application/graphql-response+json"}
    for query, variables in (
        ("{", None),
        ("{ nosuchfield }", None),
        ("query($n: Int!) { counties { number } }", {"n": "x"}),
    ):
        answer = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=spec
        )
        assert answer.status_code == 400, query
        assert "data" not in answer.json()
        assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        as_json = await client.post("/graphql", json={"query": query, "variables": variables})
        assert as_json.status_code == 200
        assert as_json.json()["data"] is None  # application/json answers stay as they were
    # A field error is an execution's answer: 200 with data, under either media type.
    field_error = await client.post(
        "/graphql", json={"query": '{ municipality(number: "abc") { name } }'}, headers=spec
    )
    assert field_error.status_code == 200
    assert "data" in field_error.json()


# --- automatic persisted queries ------------------------------------------------------------------


async def test_a_persisted_query_round_trip(client: httpx.AsyncClient) -> None:
    sha = _sha(COUNTIES)
    by_hash = {"extensions": json.dumps(_persisted(sha))}
    unknown = await client.get("/graphql", params=by_hash)
    assert unknown.status_code == 200
    (error,) = unknown.json()["errors"]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert error["message"] == "PersistedQueryNotFound"  # what Apollo's and urql's links look for
    assert unknown.headers["cache-control"] == "no-store"

    registered = await client.post(
        "/graphql", json={"query": COUNTIES, "extensions": _persisted(sha)}
    )
    assert registered.status_code == 200
    assert registered.json()["data"]["counties"]

    by_get = await client.get("/graphql", params=by_hash)
    assert by_get.status_code == 200
    assert by_get.json() == registered.json()
    assert by_get.headers["cache-control"] == "public, max-age=60"
    assert "etag" in by_get.headers
    by_post = await client.post("/graphql", json={"extensions": _persisted(sha)})
    assert by_post.json() == registered.json()


async def test_a_hash_that_does_not_match_its_document_is_refused(
    client: httpx.AsyncClient,
) -> None:
    wrong = await client.post(
        "/graphql", json={"query": COUNTIES, "extensions": _persisted("0" * 64)}
    )
    (error,) = wrong.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    follow = await client.get("/graphql", params={"extensions": json.dumps(_persisted("0" * 64))})
    assert follow.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_persisted_near_me_query_takes_the_compiled_path(api_settings: Settings) -> None:
    app = create_app(_settings(api_settings, compiled_queries=True))
    compiled = _graphql_view(app).compiled
    assert compiled is not None
    before = compiled.answered
    async with http_client(app) as client:
        await _near_me_by_hash(client, compiled, before)


async def _near_me_by_hash(client: httpx.AsyncClient, compiled: Any, before: int) -> None:
    near = "{ nearby(at: {lat: 59.91, lon: 10.75}, first: 2) { edges { distanceMeters } } }"
    sha = _sha(near)
    first = await client.post("/graphql", json={"query": near, "extensions": _persisted(sha)})
    assert first.json()["data"]["nearby"]["edges"]
    again = await client.post("/graphql", json={"extensions": _persisted(sha)})
    assert again.json() == first.json()
    assert compiled.answered == before + 2


async def test_a_remembered_document_still_meets_the_cost_limits(
    api_settings: Settings,
) -> None:
    """A document registered by hash runs through every limit on every request."""
    costly = (
        "{ venues(first: 100) { edges { node { activities(first: 100) { edges { node { id } } } } "
        "} } }"
    )
    app = create_app(_settings(api_settings, max_query_cost=1000))
    async with http_client(app) as client:
        sha = _sha(costly)
        sent = await client.post("/graphql", json={"query": costly, "extensions": _persisted(sha)})
        assert sent.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        by_hash = await client.post("/graphql", json={"extensions": _persisted(sha)})
        assert by_hash.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


def test_the_store_is_bounded_in_entries_and_document_size() -> None:
    store = PersistedDocuments(max_entries=3, max_document_bytes=100)
    documents = [f"{{ counties {{ number }} }} # {n}" for n in range(5)]
    for document in documents:
        assert store.document_for(document, _persisted(_sha(document))) == document
    assert len(store) == 3
    assert store.document_for(None, _persisted(_sha(documents[-1]))) == documents[-1]
    with pytest.raises(Exception, match="PersistedQueryNotFound"):
        store.document_for(None, _persisted(_sha(documents[0])))  # the oldest went first
    big = "{ counties { number } }" + " " * 200
    assert store.document_for(big, _persisted(_sha(big))) == big  # runs (and meets its limits)
    with pytest.raises(Exception, match="PersistedQueryNotFound"):
        store.document_for(None, _persisted(_sha(big)))  # but is never remembered


async def test_persisted_queries_can_be_turned_off(api_settings: Settings) -> None:
    app = create_app(_settings(api_settings, persisted_queries=False))
    async with http_client(app) as client:
        answer = await client.post("/graphql", json={"extensions": _persisted(_sha(COUNTIES))})
        assert answer.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"
        plain = await client.post("/graphql", json={"query": COUNTIES})
        assert plain.json()["data"]["counties"]


# --- trusted documents ----------------------------------------------------------------------------


async def test_trusted_documents_refuse_every_other_document(
    api_settings: Settings, tmp_path: Path
) -> None:
    near = "{ nearby(at: {lat: 59.91, lon: 10.75}, first: 1) { edges { distanceMeters } } }"
    manifest = tmp_path / "trusted.json"
    manifest.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [
                    {"id": _sha(d), "body": d, "name": None, "type": "query"}
                    for d in (COUNTIES, near)
                ],
            }
        )
    )
    app = create_app(_settings(api_settings, trusted_documents=manifest))
    async with http_client(app) as client:
        by_hash = await client.get(
            "/graphql", params={"extensions": json.dumps(_persisted(_sha(COUNTIES)))}
        )
        assert by_hash.json()["data"]["counties"]
        by_text = await client.post("/graphql", json={"query": COUNTIES})
        assert by_text.json()["data"]["counties"]
        compiled = await client.post("/graphql", json={"query": near})
        assert compiled.json()["data"]["nearby"]["edges"]
        for other in ("{ counties { number } }", near.replace("first: 1", "first: 2")):
            refused = await client.post("/graphql", json={"query": other})
            (error,) = refused.json()["errors"]
            assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND", other
            assert error["extensions"]["reason"] == "not a trusted document"
            registering = await client.post(
                "/graphql", json={"query": other, "extensions": _persisted(_sha(other))}
            )
            assert registering.json()["errors"][0]["extensions"]["code"] == (
                "PERSISTED_QUERY_NOT_FOUND"
            )


def test_a_trusted_list_whose_hash_is_wrong_is_refused_at_startup(
    api_settings: Settings, tmp_path: Path
) -> None:
    listed = tmp_path / "trusted.json"
    listed.write_text(json.dumps({"0" * 64: COUNTIES}))
    with pytest.raises(ValueError, match="does not hash to it"):
        create_app(_settings(api_settings, trusted_documents=listed))
