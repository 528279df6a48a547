"""Types built without their constructor (geo.queries.rows.filled_without_init) are whole:
each equals the object its class's own constructor makes from the same fields, nested objects
included, for every activity and venue of the demo data."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from api.graphql.types.activity import Activity
from api.graphql.types.entry import locations_of
from api.graphql.types.nearby import _connection
from api.graphql.types.venue import Venue
from geo.crs import to_storage
from geo.filters import DirectoryFilter
from geo.queries.activities import activities_by_name
from geo.queries.nearby import PlaceKind, nearby
from geo.queries.translations import TranslationRow, compact_choice, language_rank
from geo.queries.venues import venues_by_name
from geo.tables import activity

OSLO = to_storage(59.9139, 10.7522)  # central Oslo, EPSG:25833


def constructed(value: Any) -> Any:
    """``value`` rebuilt through its dataclass constructor, nested dataclasses first; a
    missing or unknown field fails here (TypeError)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value)(**{name: constructed(item) for name, item in vars(value).items()})
    if isinstance(value, list):
        return [constructed(item) for item in value]
    return value


def test_activities_and_venues_equal_their_constructed_twins(loaded_conn) -> None:
    activities, _ = activities_by_name(loaded_conn, DirectoryFilter(), first=500)
    venues, _ = venues_by_name(loaded_conn, DirectoryFilter(), first=500)
    assert len(activities) > 100
    assert len(venues) > 100
    for rows, api_type in ((activities, Activity), (venues, Venue)):
        for row, location in zip(rows, locations_of(rows), strict=True):
            for built in (api_type.from_row(row), api_type.from_row(row, location)):
                twin = constructed(built)
                assert twin == built
                assert vars(twin) == vars(built)  # private fields too (not compared by ==)


def test_nearby_edges_equal_their_constructed_twins(loaded_conn) -> None:
    page = nearby(
        loaded_conn,
        *OSLO,
        radius_m=5000.0,
        kinds=tuple(PlaceKind),
        filt=DirectoryFilter(),
        first=50,
        stale_before=datetime(2026, 6, 1, tzinfo=UTC),
    )
    connection = _connection(
        page.hits, page.has_next, False, (*OSLO, 5000.0, tuple(PlaceKind), DirectoryFilter())
    )
    assert len(connection.edges) == 50
    for edge in connection.edges:
        twin = constructed(edge)
        assert twin == edge
        assert vars(twin) == vars(edge)


def test_chosen_translations_equal_their_constructed_twins(loaded_conn) -> None:
    """compact_choice builds each chosen translation without its constructor."""
    rows = loaded_conn.execute(
        sa.select(activity, activity.c.translations.label("found")).where(
            sa.func.jsonb_array_length(activity.c.translations) > 0
        )
    ).all()
    assert len(rows) > 10
    order = language_rank(("uk", "ar", "en", "fa", "so"))
    chosen = [compact_choice("activity", row, row.found, order) for row in rows]
    built = [translation for texts in chosen for translation in texts.values()]
    assert len(built) > 10
    for translation in built:
        assert isinstance(translation, TranslationRow)
        assert constructed(translation) == translation
        assert vars(constructed(translation)) == vars(translation)
