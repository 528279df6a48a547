"""The demo's translations: examples, generated from templates, never a real organisation's words.

Each demo activity (the strategy's, source "demo-strategy", and the generated ones) gets its
title and description in the languages it is held in that the project ships labels for; the
strategy's activities also in English, Ukrainian, Arabic and Somali, the languages the
strategy's readers most often need. A title becomes "{the category's label}: {the original
title}" (names of places and organisations are not translated); a description is the category's
label and a sentence saying that the text is a generated example and that the original is in
Norwegian. Every row is marked machine-translated and ``made_by`` says "generated example", so
an app shows it as such.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.expression import Values

from geo.labels import label_set, shipped_languages
from geo.languages import ORIGINAL_LANGUAGE
from geo.tables import activity, activity_translation
from loaders.report import LoadReport

MADE_BY = "hverdag demo: generated from templates, an example (not the organiser's words)"
SOURCES = ("demo-strategy", "generated")
#: Languages every strategy activity is translated into, whatever languages it is held in.
STRATEGY_LANGUAGES = ("en", "uk", "ar", "so")
#: "A generated example; the original is in Norwegian", per shipped language.
EXAMPLE_NOTE = {
    "nn": "Generert eksempeltekst for demoen; originalen er på bokmål.",
    "en": "Example text generated for the demo; the original is in Norwegian.",
    "ar": "نص مثال مُولَّد للعرض التجريبي؛ النص الأصلي باللغة النرويجية.",
    "uk": "Приклад тексту, створений для демонстрації; оригінал норвезькою.",
    "so": "Qoraal tusaale ah oo loo sameeyay bandhigga; asalku waa af-Noorwiiji.",
    "ti": "ንምርኢት ዝተፈጥረ ኣብነታዊ ጽሑፍ፤ እቲ መበቆላዊ ብኖርወይኛ እዩ።",
    "fa": "متن نمونه که برای نمایش ساخته شده است؛ متن اصلی به نروژی است.",
    "fa-AF": "متن نمونه که برای نمایش ساخته شده است؛ متن اصلی به نارویژی است.",
    "pl": "Przykładowy tekst wygenerowany na potrzeby demonstracji; oryginał jest po norwesku.",
    "ur": "ڈیمو کے لیے بنایا گیا مثالی متن؛ اصل متن نارویجن میں ہے۔",
    "ru": "Пример текста, созданный для демонстрации; оригинал на норвежском.",
}


def _templates() -> Values:
    """(language, category, title prefix, description) for every shipped language but nb."""
    rows = []
    for language in shipped_languages():
        if language == ORIGINAL_LANGUAGE:
            continue
        for label in label_set(language).vocabularies["ActivityCategory"]:
            rows.append(
                (language, label.value, label.label, f"{label.label}. {EXAMPLE_NOTE[language]}")
            )
    return (
        sa.values(
            sa.column("language", sa.Text),
            sa.column("category", sa.Text),
            sa.column("label", sa.Text),
            sa.column("note", sa.Text),
            name="template",
        )
        .data(rows)
        .alias("template")
    )


def translate_demo_activities(conn: sa.Connection) -> LoadReport:
    """Insert the demo's example translations (rows there already are left alone)."""
    template = _templates()
    wanted = sa.or_(
        template.c.language == sa.func.any(activity.c.languages),
        sa.and_(activity.c.source == SOURCES[0], template.c.language.in_(STRATEGY_LANGUAGES)),
    )
    report = LoadReport(what="demo translations (generated examples)")
    count = sa.select(sa.func.count()).select_from(activity_translation)
    before = int(conn.execute(count).scalar() or 0)
    for field, text, original in (
        ("title", template.c.label + ": " + activity.c.title, activity.c.title),
        ("description", template.c.note, activity.c.description),
    ):
        chosen = (
            sa.select(
                activity.c.id,
                sa.literal(field),
                template.c.language,
                text,
                sa.true(),
                sa.literal(MADE_BY),
                activity.c.version,
                sa.func.md5(original),
            )
            .select_from(activity.join(template, template.c.category == activity.c.category))
            .where(activity.c.source.in_(SOURCES), wanted, original.is_not(None))
        )
        stmt = (
            insert(activity_translation)
            .from_select(
                [
                    "entry_id",
                    "field",
                    "language",
                    "text",
                    "machine_translated",
                    "made_by",
                    "original_version",
                    "original_digest",
                ],
                chosen,
            )
            .on_conflict_do_nothing()
        )
        conn.execute(stmt)
    report.inserted = int(conn.execute(count).scalar() or 0) - before
    conn.exec_driver_sql("ANALYZE activity_translation")
    return report
