"""Helpers for the directory API's tests: global ids, walking pages, and a check, in Python,
of every directory filter against the fields the API returns for a row."""

from __future__ import annotations

import base64
import difflib
import unicodedata
from datetime import date, time
from typing import Any

from pyproj import Transformer

#: What the filter checks need of each kind of place.
NODE_FIELDS = """
  __typename
  ... on Activity {
    id title description category targetGroups minAge maxAge languages
    cost { free leisureCardAccepted }
    schedule { weekday start end validFrom validTo }
    venue { ownerType priceModel stepFree }
    location { lat lon }
    municipality { number }
  }
  ... on Venue {
    id name description suitableCategories ownerType priceModel stepFree
    availability { weekday from to }
    location { lat lon }
    municipality { number }
  }
  ... on ImmigrantCouncil { id name note municipality { number } }
"""

#: Order of equally distant places: activities, venues, councils.
KIND_RANK = {"Activity": 0, "Venue": 1, "ImmigrantCouncil": 2}

_TO_STORAGE = Transformer.from_crs("EPSG:4326", "EPSG:25833", always_xy=True)


def global_key(global_id: str) -> tuple[str, str]:
    """(type name, key) of a global id."""
    type_name, key = base64.b64decode(global_id).decode("utf-8").split(":", 1)
    return type_name, key


def db_id(global_id: str) -> int:
    return int(global_key(global_id)[1])


def global_id(type_name: str, key: object) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def plane_distance(lat: float, lon: float, other: dict[str, float]) -> float:
    """Metres between two WGS84 points in the EPSG:25833 plane (pyproj, not the database)."""
    x1, y1 = _TO_STORAGE.transform(lon, lat)
    x2, y2 = _TO_STORAGE.transform(other["lon"], other["lat"])
    return float(((x1 - x2) ** 2 + (y1 - y2) ** 2) ** 0.5)


async def walk(
    gql: Any, query: str, variables: dict[str, Any], field: str, size: int, *, limit: int = 500
) -> tuple[list[dict[str, Any]], list[int]]:
    """Every edge of a connection, a page of ``size`` at a time; and each page's length.

    ``query`` takes ``$first`` and ``$after``; ``field`` is the connection's root field.
    """
    edges: list[dict[str, Any]] = []
    pages: list[int] = []
    after = None
    for _ in range(limit):
        data = await gql.data(query, {**variables, "first": size, "after": after})
        page = data[field]
        edges += page["edges"]
        pages.append(len(page["edges"]))
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            assert len(page["edges"]) <= size
            return edges, pages
        assert len(page["edges"]) == size
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        after = page["pageInfo"]["endCursor"]
    raise AssertionError(f"more than {limit} pages")


def plain(text: str | None) -> str:
    """Lower case without accents: "Språkkafé" -> "sprakkafe"."""
    decomposed = unicodedata.normalize("NFKD", (text or "").lower())
    return (
        "".join(c for c in decomposed if not unicodedata.combining(c))
        .replace("ø", "o")
        .replace("æ", "ae")
    )


def text_matches(query: str, *texts: str | None) -> bool:
    """A word of the texts begins with, contains or nearly equals the query (one typo)."""
    wanted = plain(query)
    words = " ".join(plain(t) for t in texts).replace("-", " ").split()
    return any(
        wanted in word or difflib.SequenceMatcher(None, wanted, word).ratio() >= 0.85
        for word in words
    )


def _at(value: str) -> time:
    return time.fromisoformat(value)


def _in_window(
    windows: list[dict[str, Any]],
    weekday: str,
    starts: time,
    ends: time,
    on: date | None,
    first: str,
    last: str,
) -> bool:
    """A window on that weekday covering the moment (starts == ends) or overlapping the span,
    valid on ``on`` (sessions have validFrom/validTo; availability windows have not)."""
    for w in windows:
        if w["weekday"] != weekday:
            continue
        begin, finish = _at(w[first]), _at(w[last])
        if not (begin <= starts < finish if starts == ends else begin < ends and finish > starts):
            continue
        valid_from, valid_to = w.get("validFrom"), w.get("validTo")
        if on is not None and (
            (valid_from and date.fromisoformat(valid_from) > on)
            or (valid_to and date.fromisoformat(valid_to) < on)
        ):
            continue
        return True
    return False


def matches(node: dict[str, Any], filt: dict[str, Any], *, today: date | None = None) -> bool:
    """Whether a row the API returned satisfies every condition of a DirectoryFilter input,
    by the rules the filter's description gives (an attribute a kind lacks does not narrow
    that kind; councils drop out under any filter but text and municipality)."""
    kind = node["__typename"]
    if kind == "ImmigrantCouncil":
        if set(filt) - {"text", "municipality"}:
            return False
        return ("text" not in filt or text_matches(filt["text"], node["name"], node["note"])) and (
            "municipality" not in filt
            or (node["municipality"] or {}).get("number") == filt["municipality"]
        )
    return all(_condition(kind, node, name, value, today) for name, value in filt.items())


def _venue_attribute(kind: str, node: dict[str, Any], attribute: str) -> tuple[bool, Any]:
    """(has a venue, the attribute): a venue's own, or an activity's venue's."""
    if kind == "Venue":
        return True, node[attribute]
    venue = node["venue"]
    return venue is not None, None if venue is None else venue[attribute]


def _condition(kind: str, node: dict[str, Any], name: str, value: Any, today: date | None) -> bool:
    activity = kind == "Activity"
    if name == "categories":
        return (
            node["category"] in value
            if activity
            else bool(set(node["suitableCategories"]) & set(value))
        )
    if name == "targetGroups":
        return not activity or bool(set(node["targetGroups"]) & set(value))
    if name == "age":
        return not activity or (
            (node["minAge"] is None or node["minAge"] <= value)
            and (node["maxAge"] is None or node["maxAge"] >= value)
        )
    if name == "languages":
        return not activity or bool(set(node["languages"]) & set(value))
    if name == "freeOnly":
        return not value or (node["cost"]["free"] if activity else node["priceModel"] == "FREE")
    if name == "leisureCardAccepted":
        return not value or not activity or node["cost"]["leisureCardAccepted"]
    if name in ("openAt", "during"):
        on = date.fromisoformat(value["on"]) if value.get("on") else today
        if name == "openAt":
            starts = ends = _at(value["time"])
        else:
            starts, ends = _at(value["from"]), _at(value["to"])
        if activity:
            return _in_window(node["schedule"], value["weekday"], starts, ends, on, "start", "end")
        return _in_window(node["availability"], value["weekday"], starts, ends, None, "from", "to")
    if name in ("ownerTypes", "priceModels", "stepFree"):
        attribute = {
            "ownerTypes": "ownerType",
            "priceModels": "priceModel",
            "stepFree": "stepFree",
        }[name]
        has_venue, found = _venue_attribute(kind, node, attribute)
        return has_venue and (found is value if name == "stepFree" else found in value)
    if name == "text":
        return text_matches(value, node.get("title") or node.get("name"), node["description"])
    if name == "municipality":
        return (node["municipality"] or {}).get("number") == value
    raise AssertionError(f"no check for filter {name}")
