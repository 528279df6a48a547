"""The compiled near-me path answers `lang` (and Accept-Language) as strawberry does: the
translated texts are the entries' attributes, and the `…Text` fields resolvers of the object
alone. `translations { … }` needs a DataLoader, so strawberry answers it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from api.app import create_app
from geo.db import sync_engine
from geo.settings import load_settings
from geo.tables import activity, activity_translation
from tests.api.conftest import http_client
from tests.api.graphql.test_compiled import OSLO, _both, no_api_objects

pytestmark = pytest.mark.anyio

LOCALISED = """query Near($at: LatLonInput!, $lang: [String!]) {
  nearby(at: $at, radiusMeters: 5000, first: 30, kinds: [ACTIVITY, VENUE], lang: $lang,
         filter: {categories: [LANGUAGE_CAFE, NORWEGIAN_PRACTICE]}) {
    edges { distanceMeters node {
      ... on Activity { id title description
        titleText { text language original machineTranslated outdated rightToLeft }
        descriptionText { language original } }
      ... on Venue { id name descriptionText { language original } }
    } }
  }
}"""


@pytest.mark.parametrize(
    ("lang", "header", "expected"),
    [
        (["uk", "en"], None, "uk"),
        (["prs", "fa", "en"], None, None),  # whatever the first found is: checked below
        (None, "ar;q=0.9, en;q=0.5", None),
        (["nb"], None, "nb"),
    ],
)
async def test_near_me_in_the_readers_language_is_compiled(clients, lang, header, expected):
    compiled, plain, counters = clients
    before = counters.answered
    body = {"query": LOCALISED, "variables": {"at": OSLO, "lang": lang}}
    headers = {"x-request-id": "compare-1", **({"accept-language": header} if header else {})}
    fast = await compiled.post("/graphql", json=body, headers=headers)
    slow = await plain.post("/graphql", json=body, headers=headers)
    assert fast.content == slow.content
    assert counters.answered == before + 1
    nodes = [e["node"] for e in fast.json()["data"]["nearby"]["edges"] if "title" in e["node"]]
    assert nodes
    languages = {node["titleText"]["language"] for node in nodes}
    if expected == "nb":
        assert languages == {"nb"}
    elif expected is not None:
        assert expected in languages
    else:
        assert languages - {"nb"}, "some titles come translated"
    for node in nodes:
        assert node["title"] == node["titleText"]["text"]
        assert node["titleText"]["original"] == (node["titleText"]["language"] == "nb")


async def test_a_bad_lang_is_strawberrys_error_with_the_field(clients):
    fast, slow = await _both(
        clients,
        'query($at: LatLonInput!) { nearby(at: $at, lang: ["xx"]) { edges { cursor } } }',
        {"at": OSLO},
    )
    assert fast.content == slow.content
    error = fast.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "lang"


@pytest.fixture
async def edited(fresh_demo_url: URL) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """A copy of the demo where half the translated activities' titles were edited after
    their translations were made: those translations are outdated (served, flagged)."""
    engine = sync_engine(fresh_demo_url)
    try:
        with engine.begin() as conn:
            translated = sa.select(activity_translation.c.entry_id).where(
                activity_translation.c.field == "title", activity_translation.c.entry_id % 2 == 0
            )
            conn.execute(
                sa.update(activity)
                .where(activity.c.id.in_(translated))
                .values(title=activity.c.title + " (ny tid)")
            )
    finally:
        engine.dispose()
    settings = load_settings(
        database_url=fresh_demo_url.render_as_string(hide_password=False),
        rate_limit_enabled=False,
    )
    on = create_app(settings.model_copy(update={"compiled_queries": True}))
    off = create_app(settings.model_copy(update={"compiled_queries": False}))
    async with http_client(on) as compiled, http_client(off) as plain:
        yield compiled, plain


async def test_near_me_in_other_languages_renders_rows_without_api_objects(edited, monkeypatch):
    """With `lang`, the compiled path still reads only the selection's columns and renders
    the rows (translated in place of their originals), no API object built; byte for byte
    strawberry's answer, outdated translations flagged as there."""
    compiled, plain = edited
    body = {"query": LOCALISED.replace("first: 30", "first: 100"), "variables": {"at": OSLO}}
    answers = {}
    for lang in (["uk", "en"], ["ar", "en"], ["prs", "fa", "en"]):
        body["variables"]["lang"] = lang
        expected = (await plain.post("/graphql", json=body)).content
        with no_api_objects(monkeypatch):
            got = (await compiled.post("/graphql", json=body)).content
        assert got == expected
        answers[tuple(lang)] = orjson.loads(got)["data"]["nearby"]["edges"]
    texts = [
        edge["node"]["titleText"]
        for edges in answers.values()
        for edge in edges
        if "titleText" in edge["node"]
    ]
    assert any(not text["original"] for text in texts), "some titles come translated"
    assert any(text["outdated"] for text in texts), "the edited title's translations"
    assert all(text["outdated"] is False for text in texts if text["original"])
