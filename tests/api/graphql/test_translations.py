"""Translated texts: writing them (scoped, version-checked, audited), reading them in the reader's
language with the fallback chain, and the outdated flag an edit of the original sets."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

from geo.tables import activity_translation, audit_log
from geo.writes.activities import create_activity
from tests.api.writes_support import OSLO, As

pytestmark = pytest.mark.anyio

SET = """mutation ($input: TranslationInput!) { setTranslation(input: $input) {
  translation { field language text machineTranslated madeBy outdated rightToLeft
                originalVersion version } } }"""
REMOVE = """mutation ($input: RemoveTranslationInput!) {
  removeTranslation(input: $input) { translation { version } } }"""
READ = """query ($id: ID!, $lang: [String!]) { node(id: $id, lang: $lang) { ... on Activity {
  version title description
  titleText { text language original machineTranslated outdated rightToLeft }
  descriptionText { language original outdated }
  translations { field language text outdated machineTranslated madeBy version } } } }"""
UPDATE = """mutation ($id: ID!, $v: Int!, $input: ActivityChangesInput!) {
  updateActivity(id: $id, version: $v, input: $input) { activity { version } } }"""


def gid(kind: str, key: int) -> str:
    return base64.b64encode(f"{kind}:{key}".encode()).decode()


@pytest.fixture(scope="module")
def cafe(write_engine, keys) -> int:
    """A new Red Cross activity with a description (and no translations)."""
    actor = keys["red_cross"][1].actor()
    assert actor is not None
    with write_engine.begin() as conn:
        return create_activity(
            conn,
            actor,
            {
                "title": "Språkkafé på biblioteket",
                "description": "Snakk norsk over en kopp kaffe.",
                "category": "LANGUAGE_CAFE",
                **OSLO,
            },
        )


def _translation(cafe: int, field: str, language: str, text: str, **extra) -> dict:
    return {
        "input": {
            "entry": gid("Activity", cafe),
            "field": field,
            "language": language,
            "text": text,
            **extra,
        }
    }


def _stored(write_engine, cafe: int) -> list[tuple]:
    t = activity_translation.c
    with write_engine.connect() as conn:
        return conn.execute(
            sa.select(t.field, t.language, t.text, t.version)
            .where(t.entry_id == cafe)
            .order_by(t.field, t.language)
        ).all()


def _audit_count(write_engine, cafe: int) -> int:
    with write_engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).where(
                audit_log.c.entity == "Activity", audit_log.c.entity_id == str(cafe)
            )
        ).scalar_one()


async def test_translations_are_written_read_in_order_and_outdated_by_an_edit(
    schema, write_engine, async_write_engine, keys, cafe
):
    editor = As(schema, async_write_engine, keys["red_cross"][1])
    public = As(schema, async_write_engine)
    made = (await editor.data(SET, _translation(cafe, "TITLE", "ar", "مقهى اللغة")))[
        "setTranslation"
    ]["translation"]
    assert made["language"] == "ar"
    assert made["version"] == 1
    assert made["madeBy"] == "test red_cross"  # the key's label when not said
    assert made["rightToLeft"] is True
    assert made["outdated"] is False
    await editor.data(
        SET,
        _translation(cafe, "TITLE", "FA", "کافه زبان", machineTranslated=True, madeBy="a machine"),
    )
    await editor.data(SET, _translation(cafe, "DESCRIPTION", "fa", "گفت‌وگو به نروژی"))

    original = (await public.data(READ, {"id": gid("Activity", cafe)}))["node"]
    assert original["titleText"]["original"] is True
    assert original["titleText"]["language"] == "nb"
    assert original["titleText"]["text"] == original["title"]
    assert {(t["field"], t["language"]) for t in original["translations"]} == {
        ("TITLE", "ar"),
        ("TITLE", "fa"),
        ("DESCRIPTION", "fa"),
    }

    # Dari → Persian → English: no Dari text, so Persian, machine-made.
    dari = (await public.data(READ, {"id": gid("Activity", cafe), "lang": ["prs", "fa", "en"]}))[
        "node"
    ]
    assert dari["title"] == "کافه زبان"
    assert dari["titleText"] == {
        "text": "کافه زبان",
        "language": "fa",
        "original": False,
        "machineTranslated": True,
        "outdated": False,
        "rightToLeft": True,
    }
    assert dari["descriptionText"]["language"] == "fa"
    # Arabic first: Arabic title, but no Arabic description, so Persian's (the next asked).
    arabic = (await public.data(READ, {"id": gid("Activity", cafe), "lang": ["ar", "fa"]}))["node"]
    assert (arabic["titleText"]["language"], arabic["descriptionText"]["language"]) == (
        "ar",
        "fa",
    )
    # Nynorsk → Bokmål, the original; anything else → the original.
    for lang in (["nn"], ["de"], ["en", "nb", "ar"]):
        other = (await public.data(READ, {"id": gid("Activity", cafe), "lang": lang}))["node"]
        assert other["title"] == original["title"], lang
        assert other["titleText"]["original"] is True, lang

    # Editing the title outdates the title's translations, not the description's.
    await editor.data(
        UPDATE,
        {
            "id": gid("Activity", cafe),
            "v": original["version"],
            "input": {"title": original["title"] + " (ny tid)"},
        },
    )
    after = (await public.data(READ, {"id": gid("Activity", cafe), "lang": ["ar"]}))["node"]
    assert after["titleText"] == {
        "text": "مقهى اللغة",
        "language": "ar",
        "original": False,
        "machineTranslated": False,
        "outdated": True,
        "rightToLeft": True,
    }
    flags = {(t["field"], t["language"]): t["outdated"] for t in after["translations"]}
    assert flags == {("TITLE", "ar"): True, ("TITLE", "fa"): True, ("DESCRIPTION", "fa"): False}

    near = await public.data(
        """query ($lang: [String!]) { nearby(at: {lat: 59.9139, lon: 10.7522}, radiusMeters: 50,
        first: 100, kinds: [ACTIVITY], lang: $lang) { edges { node { ... on Activity {
        id title titleText { language outdated } } } } } }""",
        {"lang": ["ar"]},
    )
    (mine,) = [
        e["node"] for e in near["nearby"]["edges"] if e["node"]["id"] == gid("Activity", cafe)
    ]
    assert mine["titleText"] == {"language": "ar", "outdated": True}  # read with the page

    # Updating the translation (at its version) clears the flag.
    updated = (
        await editor.data(
            SET, _translation(cafe, "TITLE", "ar", "مقهى اللغة (موعد جديد)", version=1)
        )
    )["setTranslation"]["translation"]
    assert (updated["version"], updated["outdated"]) == (2, False)
    assert updated["originalVersion"] == original["version"] + 1
    again = (await public.data(READ, {"id": gid("Activity", cafe), "lang": ["ar"]}))["node"]
    assert again["titleText"]["outdated"] is False
    assert again["title"] == "مقهى اللغة (موعد جديد)"


async def test_a_translation_outside_the_keys_scope_is_forbidden_and_changes_nothing(
    schema, write_engine, async_write_engine, keys, cafe
):
    before, audited = _stored(write_engine, cafe), _audit_count(write_engine, cafe)
    for who in ("save_the_children", "oslo", "analyst"):
        error = await As(schema, async_write_engine, keys[who][1]).error(
            SET, _translation(cafe, "TITLE", "so", "Kafeega luqadda")
        )
        assert error["extensions"]["code"] == "FORBIDDEN", who
    error = await As(schema, async_write_engine).error(
        SET, _translation(cafe, "TITLE", "so", "Kafeega luqadda")
    )
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert _stored(write_engine, cafe) == before
    assert _audit_count(write_engine, cafe) == audited


async def test_versions_languages_and_fields_are_checked(
    schema, write_engine, async_write_engine, keys, cafe
):
    editor = As(schema, async_write_engine, keys["red_cross"][1])
    await editor.data(SET, _translation(cafe, "TITLE", "uk", "Мовне кафе"))
    before = _stored(write_engine, cafe)
    exists = await editor.error(SET, _translation(cafe, "TITLE", "uk", "Інше"))
    assert exists["extensions"]["code"] == "CONFLICT"
    assert exists["extensions"]["currentVersion"] == 1
    stale = await editor.error(SET, _translation(cafe, "TITLE", "uk", "Інше", version=7))
    assert stale["extensions"]["code"] == "CONFLICT"
    missing = await editor.error(SET, _translation(cafe, "TITLE", "ti", "ቤት ቡን", version=1))
    assert missing["extensions"]["code"] == "NOT_FOUND"
    old_original = await editor.error(
        SET, _translation(cafe, "TITLE", "ti", "ቤት ቡን ቋንቋ", originalVersion=0)
    )
    assert old_original["extensions"]["code"] == "CONFLICT"
    for language in ("xx", "und", ""):
        bad = await editor.error(SET, _translation(cafe, "TITLE", language, "x"))
        assert bad["extensions"]["code"] == "BAD_USER_INPUT"
        assert bad["extensions"]["field"] == "input.language"
    wrong_field = await editor.error(SET, _translation(cafe, "PRICE_NOTE", "en", "Free"))
    assert wrong_field["extensions"]["field"] == "input.field"
    empty = await editor.error(SET, _translation(cafe, "TITLE", "en", "  "))
    assert empty["extensions"]["field"] == "input.text"
    assert _stored(write_engine, cafe) == before

    removed = await editor.data(
        REMOVE,
        {
            "input": {
                "entry": gid("Activity", cafe),
                "field": "TITLE",
                "language": "uk",
                "version": 1,
            }
        },
    )
    assert removed["removeTranslation"]["translation"] is None
    assert ("title", "uk") not in {(f, lang) for f, lang, *_ in _stored(write_engine, cafe)}
    entries = (
        await As(schema, async_write_engine, keys["admin"][1]).data(
            "query ($id: ID!) { auditLog(entity: ACTIVITY, id: $id) { action before after } }",
            {"id": gid("Activity", cafe)},
        )
    )["auditLog"]
    actions = [e["action"] for e in entries]
    assert "translate" in actions
    assert actions[-1] == "remove translation"
    assert entries[-1]["before"]["language"] == "uk"


async def test_accept_language_answers_when_no_lang_is_given(client):
    """Over HTTP, with the demo's generated translations (marked as examples)."""
    query = """{ activities(first: 20, filter: {categories: [LANGUAGE_CAFE]}) { edges { node {
      title titleText { language original machineTranslated } } } } }"""
    plain = (await client.post("/graphql", json={"query": query})).json()["data"]
    asked = (
        await client.post("/graphql", json={"query": query}, headers={"Accept-Language": "uk"})
    ).json()["data"]
    plain_nodes = [e["node"] for e in plain["activities"]["edges"]]
    asked_nodes = [e["node"] for e in asked["activities"]["edges"]]
    assert all(n["titleText"]["original"] for n in plain_nodes)
    translated = [n for n in asked_nodes if not n["titleText"]["original"]]
    assert translated, "the demo translates some language cafés into Ukrainian"
    assert all(n["titleText"]["language"] == "uk" for n in translated)


SEARCH = """query ($text: String!) { activities(first: 50, filter: {text: $text}) {
  edges { node { id } } } }"""
NEAR_SEARCH = """query ($text: String!) { nearby(at: {lat: 59.9139, lon: 10.7522},
  radiusMeters: 3000, kinds: [ACTIVITY], filter: {text: $text}) {
  edges { node { ... on Activity { id } } } } }"""


async def _found(reader: As, text: str) -> set[str]:
    listed = await reader.data(SEARCH, {"text": text})
    near = await reader.data(NEAR_SEARCH, {"text": text})
    ids = {e["node"]["id"] for e in listed["activities"]["edges"]}
    assert ids == {e["node"]["id"] for e in near["nearby"]["edges"]}, text
    return ids


async def test_arabic_ukrainian_and_english_terms_find_their_translations(
    schema, async_write_engine, keys, write_engine
):
    actor = keys["red_cross"][1].actor()
    assert actor is not None
    with write_engine.begin() as conn:
        chess = create_activity(
            conn,
            actor,
            {
                "title": "Sjakklubb",
                "description": "Vi spiller sjakk.",
                "category": "CULTURE",
                **OSLO,
            },
        )
    editor = As(schema, async_write_engine, keys["red_cross"][1])
    reader = As(schema, async_write_engine)
    me = gid("Activity", chess)
    assert me not in await _found(reader, "الشطرنج")
    await editor.data(SET, _translation(chess, "TITLE", "ar", "نادي الشطرنج"))
    await editor.data(SET, _translation(chess, "DESCRIPTION", "uk", "Граємо в шахи щочетверга"))
    await editor.data(SET, _translation(chess, "DESCRIPTION", "en", "Chess players welcome"))
    assert me in await _found(reader, "الشطرنج")  # Arabic
    assert me in await _found(reader, "шахи")  # Ukrainian (simple, unaccented)
    assert me in await _found(reader, "player")  # English, stemmed: players → player
    assert me in await _found(reader, "sjakk")  # the original still
    # Removing a translation takes its words out of the search.
    await editor.data(
        REMOVE,
        {"input": {"entry": me, "field": "TITLE", "language": "ar", "version": 1}},
    )
    assert me not in await _found(reader, "الشطرنج")
    assert me in await _found(reader, "шахи")


async def test_near_me_reads_its_translations_in_the_same_statements(gql, count_statements):
    """A reader with languages costs no extra round trip on near-me."""
    query = """query ($lang: [String!]) { nearby(at: {lat: 59.9139, lon: 10.7522}, first: 20,
      kinds: [ACTIVITY, VENUE], lang: $lang) { edges { node { ... on Activity { title } } } } }"""
    await gql.data(query, {"lang": None})
    plain = len(count_statements.statements)
    data = await gql.data(query, {"lang": ["uk", "en"]})
    assert len(count_statements.statements) - plain == plain
    assert any(e["node"] for e in data["nearby"]["edges"])


async def test_venues_and_initiatives_are_translated_by_their_municipalitys_editors(
    schema, write_engine, async_write_engine, keys
):
    with write_engine.connect() as conn:
        venue_id, initiative_id = conn.execute(
            sa.text(
                "SELECT (SELECT min(id) FROM venue WHERE municipality_number = '0301' "
                "AND description IS NOT NULL), (SELECT id FROM area_initiative "
                "WHERE slug = 'groruddalen')"
            )
        ).one()
    oslo = As(schema, async_write_engine, keys["oslo"][1])
    bergen = As(schema, async_write_engine, keys["bergen"][1])
    venue_text = {
        "input": {
            "entry": gid("Venue", venue_id),
            "field": "DESCRIPTION",
            "language": "so",
            "text": "Maktabad",
        }
    }
    refused = await bergen.error(SET, venue_text)
    assert refused["extensions"]["code"] == "FORBIDDEN"
    made = (await oslo.data(SET, venue_text))["setTranslation"]["translation"]
    assert (made["language"], made["rightToLeft"]) == ("so", False)
    await oslo.data(
        SET,
        {
            "input": {
                "entry": gid("AreaInitiative", initiative_id),
                "field": "DESCRIPTION",
                "language": "en",
                "text": "A joint effort of the state and Oslo in Groruddalen.",
            }
        },
    )
    read = await As(schema, async_write_engine).data(
        """query ($venue: ID!) {
          venue: node(id: $venue, lang: ["so"]) { ... on Venue { description
            descriptionText { language original } } }
          areaInitiative(id: "groruddalen", lang: ["en"]) { description
            descriptionText { language original } translations { language } } }""",
        {"venue": gid("Venue", venue_id)},
    )
    assert read["venue"]["description"] == "Maktabad"
    assert read["venue"]["descriptionText"] == {"language": "so", "original": False}
    initiative = read["areaInitiative"]
    assert initiative["description"].startswith("A joint effort")
    assert initiative["descriptionText"] == {"language": "en", "original": False}
    assert initiative["translations"] == [{"language": "en"}]
