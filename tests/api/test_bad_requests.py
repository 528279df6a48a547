"""The bad-request corpus (tests/api/bad_requests.py) against a writable clone of the demo
database: every request gets its documented answer, none a 500 or a leaked detail, and the
database is byte-for-byte the same afterwards."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import URL

from api.app import create_app
from geo.db import sync_engine
from geo.settings import load_settings
from tests.api.bad_requests import OK, Case, corpus
from tests.api.conftest import http_client

pytestmark = pytest.mark.anyio


def database_checksum(url: URL) -> dict[str, tuple[int, str]]:
    """(row count, md5 of every row's text in order) of every table in the public schema."""
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    sums: dict[str, tuple[int, str]] = {}
    try:
        with engine.connect() as conn:
            for name in sorted(sa.inspect(conn).get_table_names(schema="public")):
                table = sa.table(name)
                text = sa.cast(table.table_valued(), sa.Text)
                count, digest = conn.execute(
                    sa.select(
                        sa.func.count(),
                        sa.func.md5(
                            sa.func.coalesce(
                                sa.func.string_agg(
                                    text, aggregate_order_by(sa.literal("\n"), text)
                                ),
                                "",
                            )
                        ),
                    ).select_from(table)
                ).one()
                sums[name] = (count, digest)
    finally:
        engine.dispose()
    return sums


async def _send(client: Any, case: Case) -> Any:
    if case.content is not None:
        headers = {"content-type": case.content_type} if case.content_type else {}
        return await client.request(
            case.method, case.path, content=case.content, headers={**headers, **case.headers}
        )
    if case.json is not None:  # escaped to ASCII: a lone surrogate goes as "\ud800"
        return await client.request(
            case.method,
            case.path,
            content=json.dumps(case.json),
            headers={"content-type": "application/json", **case.headers},
        )
    return await client.request(case.method, case.path, params=case.params, headers=case.headers)


def _problems(case: Case, response: Any) -> list[str]:
    """What is wrong with the answer to ``case`` (nothing: an empty list)."""
    problems = []
    if response.status_code != case.status:
        problems.append(f"status {response.status_code}, expected {case.status}")
    if response.status_code >= 500:
        problems.append("a server error")
    if "Traceback" in response.text or "psycopg" in response.text.lower():
        problems.append("leaks internals")
    content_type = response.headers.get("content-type", "")
    if case.code == OK:
        if "json" in content_type and response.json().get("errors"):
            problems.append(f"errors: {response.json()['errors']}")
        return problems
    if "json" not in content_type:
        return [*problems, f"not JSON but {content_type!r}: {response.text[:200]}"]
    body: Mapping[str, Any] = response.json()
    errors = body.get("errors") or ([body["error"]] if "error" in body else [])
    if not errors:
        return [*problems, f"no error: {response.text[:200]}"]
    for error in errors:
        code = error.get("extensions", {}).get("code", error.get("code"))
        reason = error.get("message") or error.get("reason")
        if code != case.code:
            problems.append(f"code {code}, expected {case.code}: {reason}")
        if not reason:
            problems.append("no reason given")
    return problems


def test_the_corpus_is_large_and_named_uniquely():
    cases = corpus()
    assert len(cases) >= 100
    assert len({case.name for case in cases}) == len(cases)


async def test_bad_requests_get_their_documented_errors(fresh_demo_url):
    before = database_checksum(fresh_demo_url)
    settings = load_settings(
        database_url=fresh_demo_url.render_as_string(hide_password=False), rate_limit_enabled=False
    )
    failures: dict[str, list[str]] = {}
    async with http_client(create_app(settings)) as client:
        for case in corpus():
            response = await _send(client, case)
            if problems := _problems(case, response):
                failures[case.name] = problems
        # The server still answers normally after the whole corpus.
        healthy = await client.post("/graphql", json={"query": '{ county(number: "03") { name } }'})
        assert healthy.json() == {"data": {"county": {"name": "Oslo"}}}
    assert not failures, "\n".join(
        f"{name}: {'; '.join(problems)}" for name, problems in failures.items()
    )
    assert database_checksum(fresh_demo_url) == before
    # And the checksum does see a change of one row (its description: a venue's name would
    # also restamp its activities, whose RPDE items embed it; migration 0007).
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        venue = sa.table("venue", sa.column("id"), sa.column("description"))
        first = sa.select(sa.func.min(venue.c.id)).scalar_subquery()
        conn.execute(
            venue.update()
            .where(venue.c.id == first)
            .values(description=sa.func.concat(venue.c.description, "."))
        )
    engine.dispose()
    after = database_checksum(fresh_demo_url)
    assert {name for name in after if after[name] != before[name]} == {"venue"}
