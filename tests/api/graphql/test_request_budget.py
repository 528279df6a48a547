"""One request cannot take the pool (issue 20, item 3): expensive fields count in the cost, and
a request holds a bounded number of connections at once, its first always granted."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from api.app import create_app
from geo.db import async_engine
from geo.reader import Reader, ReadLimits
from tests.api.conftest import http_client

pytestmark = pytest.mark.anyio

TEXT_ALIASES = " ".join(
    f'a{i}: activities(filter: {{text: "norsk"}}, first: 100) '
    "{ totalCount edges { node { id title } } }"
    for i in range(19)
)


async def test_aliased_text_searches_with_counts_are_too_complex(api_settings):
    async with http_client(create_app(api_settings)) as client:
        answer = (await client.post("/graphql", json={"query": f"{{ {TEXT_ALIASES} }}"})).json()
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert answer["errors"][0]["extensions"]["estimate"] > api_settings.max_query_cost


async def test_one_text_search_with_its_count_is_within_the_cost(api_settings):
    one = (
        '{ activities(filter: {text: "norsk"}, first: 20) { totalCount edges { node { title } } } }'
    )
    async with http_client(create_app(api_settings)) as client:
        answer = (await client.post("/graphql", json={"query": one})).json()
    assert "errors" not in answer, answer
    assert answer["data"]["activities"]["totalCount"] >= 1


def _held(counter: dict[str, int]):
    """A geo-style read that records how many of its kind run at once."""

    def read(conn: sa.Connection) -> int:
        counter["now"] += 1
        counter["most"] = max(counter["most"], counter["now"])
        try:
            conn.execute(sa.select(sa.func.pg_sleep(0.05)))
        finally:
            counter["now"] -= 1
        return 1

    return read


async def test_a_request_holds_at_most_its_share_of_connections(api_settings):
    engine = async_engine(api_settings.database_url, api_settings)
    try:
        reader = Reader(engine, limits=ReadLimits(per_request=3, shared_extra=10))
        reads = reader.for_request()
        counter = {"now": 0, "most": 0}
        results = await asyncio.gather(*(reads.run(_held(counter)) for _ in range(12)))
        assert results == [1] * 12
        assert counter["most"] == 3
    finally:
        await engine.dispose()


async def test_extra_connections_only_while_the_process_has_some_to_spare(api_settings):
    engine = async_engine(api_settings.database_url, api_settings)
    try:
        reader = Reader(engine, limits=ReadLimits(per_request=4, shared_extra=2))
        greedy, other = reader.for_request(), reader.for_request()
        greedy_count = {"now": 0, "most": 0}
        other_count = {"now": 0, "most": 0}
        await asyncio.gather(
            *(greedy.run(_held(greedy_count)) for _ in range(8)),
            *(other.run(_held(other_count)) for _ in range(8)),
        )
        # Two extras in the process for both: never both requests at their four.
        assert greedy_count["most"] + other_count["most"] <= 1 + 1 + 2
        # Each got its own first connection whatever the other held.
        assert greedy_count["most"] >= 1
        assert other_count["most"] >= 1
    finally:
        await engine.dispose()


async def test_heavy_reads_take_turns_and_ordinary_reads_pass_them(api_settings):
    engine = async_engine(api_settings.database_url, api_settings)
    try:
        reader = Reader(engine, limits=ReadLimits(heavy=1))
        heavy_count = {"now": 0, "most": 0}
        finished: list[str] = []

        async def heavy_request() -> None:
            reads = reader.for_request()
            async with reads.heavy():
                await reads.run(_held(heavy_count))
            finished.append("heavy")

        async def ordinary_request() -> None:
            await asyncio.sleep(0.01)  # arrives after the heavy ones queued
            await reader.for_request().run(lambda conn: conn.execute(sa.select(1)).scalar())
            finished.append("ordinary")

        await asyncio.gather(*(heavy_request() for _ in range(6)), ordinary_request())
        assert heavy_count["most"] == 1  # one at a time
        assert finished.index("ordinary") < 5  # it did not wait for the heavy queue
    finally:
        await engine.dispose()


async def test_a_text_search_waits_for_a_heavy_slot(api_settings, monkeypatch):
    """The resolvers mark their heavy reads: a text filter's page and a totalCount."""
    from geo.reader import RequestReads

    entered: list[str] = []
    real = RequestReads.heavy

    def spy(self):
        entered.append("heavy")
        return real(self)

    monkeypatch.setattr(RequestReads, "heavy", spy)
    query = (
        '{ activities(filter: {text: "norsk"}, first: 2) { totalCount edges { node { id } } } '
        "nearby(at: {lat: 59.91, lon: 10.75}, first: 2) { edges { distanceMeters } } }"
    )
    async with http_client(create_app(api_settings)) as client:
        answer = (await client.post("/graphql", json={"query": query})).json()
    assert "errors" not in answer, answer
    assert entered == ["heavy", "heavy"]  # the text page and its count; near-me is not heavy
