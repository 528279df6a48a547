"""The compiled near-me path answers `lang` (and Accept-Language) as strawberry does: the
translated texts are the entries' attributes, and the `…Text` fields resolvers of the object
alone. `translations { … }` needs a DataLoader, so strawberry answers it."""

from __future__ import annotations

import pytest

from tests.api.graphql.test_compiled import OSLO, _both, clients  # noqa: F401 - the fixture

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
async def test_near_me_in_the_readers_language_is_compiled(clients, lang, header, expected):  # noqa: F811
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


async def test_a_bad_lang_is_strawberrys_error_with_the_field(clients):  # noqa: F811
    fast, slow = await _both(
        clients,
        'query($at: LatLonInput!) { nearby(at: $at, lang: ["xx"]) { edges { cursor } } }',
        {"at": OSLO},
    )
    assert fast.content == slow.content
    error = fast.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "lang"
