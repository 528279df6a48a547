"""The demo's translations: several languages, every one marked as a generated example."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.db import sync_engine
from geo.tables import activity, activity_translation
from loaders.demo_translations import MADE_BY, STRATEGY_LANGUAGES


@pytest.fixture(scope="module")
def conn(loaded_url: URL) -> Iterator[sa.Connection]:
    engine = sync_engine(loaded_url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def test_every_demo_translation_says_it_is_a_generated_example(conn: sa.Connection) -> None:
    t = activity_translation.c
    made = dict(conn.execute(sa.select(t.made_by, sa.func.count()).group_by(t.made_by)).all())
    assert made.keys() == {MADE_BY}
    assert made[MADE_BY] > 1000
    assert not conn.execute(sa.select(sa.func.count()).where(~t.machine_translated)).scalar()
    languages = set(conn.execute(sa.select(t.language).distinct()).scalars())
    assert {"en", "uk", "ar", "so", "ti", "pl", "fa", "fa-AF", "ur"} <= languages


def test_the_strategy_activities_are_translated_and_names_kept(conn: sa.Connection) -> None:
    t, a = activity_translation.c, activity.c
    rows = conn.execute(
        sa.select(a.title, a.category, t.language, t.text)
        .select_from(activity_translation.join(activity, a.id == t.entry_id))
        .where(a.source == "demo-strategy", t.field == "title")
    ).all()
    strategy = conn.execute(
        sa.select(sa.func.count()).where(a.source == "demo-strategy")
    ).scalar_one()
    assert len(rows) >= strategy * len(STRATEGY_LANGUAGES)
    for title, _, _, text in rows:
        assert text.endswith(": " + title)  # the name stays as the organisation wrote it
    ukrainian = {cat: text for _, cat, lang, text in rows if lang == "uk"}
    assert ukrainian["NORWEGIAN_PRACTICE"].startswith("Практика норвезької: ")


def test_generated_activities_are_translated_into_the_languages_they_are_held_in(
    conn: sa.Connection,
) -> None:
    t, a = activity_translation.c, activity.c
    outside = conn.execute(
        sa.select(sa.func.count())
        .select_from(activity_translation.join(activity, a.id == t.entry_id))
        .where(a.source == "generated", ~(t.language == sa.func.any(a.languages)))
    ).scalar_one()
    assert outside == 0
