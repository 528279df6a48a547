"""Language tags normalised (BCP 47), and translations of the directory's texts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Activities' ``languages`` mixed ``no`` and ``nb`` (7 and 7,690 rows of the demo); every tag
stored is now what geo/languages.py makes of it, as the loaders, the write API and the filters
do from this revision on: ``no``/``NO``/``nb-NO`` → ``nb``, ``prs`` → ``fa-AF`` (CLDR's Dari).
A stored tag that is no language at all (the old check let ``xx`` through) is kept as it is and
named in a warning: dropping what a publisher wrote is not a migration's call. The downgrade
leaves the tags normalised (the old spellings said the same).

``activity_translation``, ``venue_translation`` and ``area_initiative_translation`` hold the
translations (geo/tables.py says what each column means).

The text filter's stored documents (migration 0004) take in the translations of activities and
venues: ``translated_text`` (every translation's text, for the trigram match) and
``translated_document`` (each translation as full text in its language's configuration,
``hverdag_ts_config()``: arabic, english, russian, …, else ``simple`` over lower-cased,
unaccented text) feed ``search_text`` and ``search_document``, which are re-generated with them.
Statement-level triggers on the translation tables recompute the two columns of the entries a
statement touched, in its transaction, so every path (the write API, the loaders, the demo's
bulk insert) keeps them right; this migration fills them for translations already there.
"""

# ruff: noqa: S608  (the DDL is put together from this file's own constants, no input)

import json
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

from geo.languages import LanguageTagError, normalised_tag

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")

TRANSLATED_FIELDS = {
    "activity": ("title", "description"),
    "venue": ("description", "price_note"),
    "area_initiative": ("description",),
}
#: The searched kinds and their name column (migration 0004's SEARCHED).
SEARCHED = (("activity", "title"), ("venue", "name"))
#: geo.languages.TEXT_SEARCH_CONFIGS as it was when this migration was written.
TEXT_SEARCH_CONFIGS = {
    "nb": "norwegian",
    "nn": "norwegian",
    "ar": "arabic",
    "en": "english",
    "ru": "russian",
    "lt": "lithuanian",
    "es": "spanish",
    "tr": "turkish",
    "de": "german",
    "fr": "french",
}
#: One translation as full text: its configuration's, or simple over lower-cased unaccented text.
TRANSLATION_DOCUMENT = (
    "to_tsvector(hverdag_ts_config(t.language), CASE WHEN hverdag_ts_config(t.language) = "
    "'simple'::regconfig THEN hverdag_search_text(t.text, NULL) ELSE t.text END)"
)


#: A translation as geo.queries.translations.COMPACT_FIELDS says, for ``translations``.
COMPACT = (
    "jsonb_build_array(t.field, t.language, t.text, t.machine_translated, t.made_by, "
    "t.original_version, t.original_digest, t.version)"
)


def _documents_of(table: str, entries: str) -> str:
    """An UPDATE setting the translated columns of the entries ``entries`` (a query of
    ``entry_id``s) from their translations now."""
    return (
        f"UPDATE {table} AS e SET translated_text = d.text, translated_document = d.document, "
        "translations = d.compact "
        "FROM (SELECT ids.entry_id, "
        "coalesce(string_agg(t.text, ' ' ORDER BY t.id), '') AS text, "
        f"coalesce(hverdag_tsvector_agg({TRANSLATION_DOCUMENT}), ''::tsvector) AS document, "
        f"coalesce(jsonb_agg({COMPACT} ORDER BY t.id) FILTER (WHERE t.id IS NOT NULL), "
        "'[]'::jsonb) AS compact "
        f"FROM ({entries}) AS ids LEFT JOIN {table}_translation AS t "
        "ON t.entry_id = ids.entry_id GROUP BY ids.entry_id) AS d "
        "WHERE e.id = d.entry_id AND (e.translated_text, e.translated_document, e.translations) "
        "IS DISTINCT FROM (d.text, d.document, d.compact)"
    )


def _create_search_functions() -> None:
    cases = " ".join(
        f"WHEN '{language}' THEN '{config}'::regconfig"
        for language, config in TEXT_SEARCH_CONFIGS.items()
    )
    op.execute(
        sa.text(
            "CREATE FUNCTION hverdag_ts_config(language text) RETURNS regconfig "
            "LANGUAGE sql IMMUTABLE PARALLEL SAFE "
            f"RETURN CASE split_part(language, '-', 1) {cases} ELSE 'simple'::regconfig END"
        )
    )
    op.execute(
        sa.text(
            "CREATE AGGREGATE hverdag_tsvector_agg(tsvector) "
            "(SFUNC = tsvector_concat, STYPE = tsvector, INITCOND = '')"
        )
    )


def _search_documents(table: str, name: str, *, translated: bool) -> None:
    """(Re)create the stored documents of 0004, with the translations when ``translated``."""
    description = "hverdag_document(description, translated_text)" if translated else "description"
    document = f"to_tsvector('norwegian'::regconfig, hverdag_document({name}, description))"
    op.add_column(
        table,
        sa.Column(
            "search_text",
            sa.Text,
            sa.Computed(f"hverdag_search_text({name}, {description})", persisted=True),
            nullable=False,
        ),
    )
    op.add_column(
        table,
        sa.Column(
            "search_document",
            TSVECTOR,
            sa.Computed(
                f"{document} || translated_document" if translated else document, persisted=True
            ),
            nullable=False,
        ),
    )
    op.create_index(
        f"ix_{table}_search_trgm",
        table,
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index(f"ix_{table}_search_fts", table, ["search_document"], postgresql_using="gin")


def _drop_search_documents(table: str) -> None:
    op.drop_index(f"ix_{table}_search_fts", table_name=table)
    op.drop_index(f"ix_{table}_search_trgm", table_name=table)
    op.drop_column(table, "search_document")
    op.drop_column(table, "search_text")


def _create_search_triggers(table: str) -> None:
    """Statement-level triggers (one per event: transition tables allow no more) that
    recompute the translated columns of the entries a statement on the translations touched."""
    changed = {
        "INSERT": "SELECT DISTINCT entry_id FROM new_rows",
        "UPDATE": "SELECT entry_id FROM new_rows UNION SELECT entry_id FROM old_rows",
        "DELETE": "SELECT DISTINCT entry_id FROM old_rows",
    }
    branches = " ".join(
        f"{'IF' if i == 0 else 'ELSIF'} TG_OP = '{event}' THEN {_documents_of(table, query)};"
        for i, (event, query) in enumerate(changed.items())
    )
    op.execute(
        sa.text(
            f"CREATE FUNCTION hverdag_{table}_translations_searched() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {branches} END IF; RETURN NULL; END $$"
        )
    )
    transitions = {
        "INSERT": "NEW TABLE AS new_rows",
        "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "DELETE": "OLD TABLE AS old_rows",
    }
    for event, referencing in transitions.items():
        op.execute(
            sa.text(
                f"CREATE TRIGGER {table}_translations_searched_{event.lower()} "
                f"AFTER {event} ON {table}_translation REFERENCING {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION hverdag_{table}_translations_searched()"
            )
        )


def _normalise_stored_tags() -> None:
    conn = op.get_bind()
    stored = conn.execute(
        sa.text("SELECT DISTINCT unnest(languages) FROM activity ORDER BY 1")
    ).scalars()
    renamed: dict[str, str] = {}
    for tag in stored:
        try:
            canonical = normalised_tag(tag)
        except LanguageTagError:
            logger.warning("activity.languages keeps %r: it is no BCP 47 language tag", tag)
            continue
        if canonical != tag:
            renamed[tag] = canonical
    if not renamed:
        return
    # Each array mapped through the renames, duplicates removed, order kept.
    conn.execute(
        sa.text(
            "UPDATE activity SET languages = ARRAY("
            "  SELECT mapped FROM ("
            "    SELECT coalesce(r.new, t.tag) AS mapped, min(t.n) AS first"
            "    FROM unnest(activity.languages) WITH ORDINALITY AS t(tag, n)"
            "    LEFT JOIN jsonb_each_text(CAST(:renames AS jsonb)) AS r(old, new) ON r.old = t.tag"
            "    GROUP BY 1) AS m ORDER BY first)"
            " WHERE languages && CAST(:old AS text[])"
        ),
        {"renames": json.dumps(renamed), "old": list(renamed)},
    )


def upgrade() -> None:
    _normalise_stored_tags()
    for entry, fields in TRANSLATED_FIELDS.items():
        table = f"{entry}_translation"
        op.create_table(
            table,
            sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
            sa.Column("entry_id", sa.BigInteger, nullable=False),
            sa.Column("field", sa.Text, nullable=False),
            sa.Column("language", sa.Text, nullable=False),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("machine_translated", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("made_by", sa.Text, nullable=False),
            sa.Column("original_version", sa.Integer, nullable=False),
            sa.Column("original_digest", sa.Text, nullable=False),
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            ),
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            ),
            sa.Column("version", sa.Integer, nullable=False, server_default="1"),
            sa.ForeignKeyConstraint(
                ["entry_id"],
                [f"{entry}.id"],
                name=f"fk_{table}_entry_id_{entry}",
                ondelete="CASCADE",
            ),
            sa.CheckConstraint(
                sa.column("field").in_(fields), name=f"ck_{table}_field_translatable"
            ),
            sa.CheckConstraint("language <> '' AND text <> ''", name=f"ck_{table}_not_empty"),
            sa.UniqueConstraint(
                "entry_id", "field", "language", name=f"uq_{table}_entry_id_field_language"
            ),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        )
    _create_search_functions()
    for table, name in SEARCHED:
        _drop_search_documents(table)
        op.add_column(
            table,
            sa.Column("translations", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        )
        op.add_column(
            table, sa.Column("translated_text", sa.Text, nullable=False, server_default="")
        )
        op.add_column(
            table,
            sa.Column("translated_document", TSVECTOR, nullable=False, server_default=""),
        )
        _search_documents(table, name, translated=True)
        _create_search_triggers(table)
        op.execute(
            sa.text(_documents_of(table, f"SELECT DISTINCT entry_id FROM {table}_translation"))
        )


def downgrade() -> None:
    for table, name in SEARCHED:
        for event in ("insert", "update", "delete"):
            op.execute(
                sa.text(
                    f"DROP TRIGGER {table}_translations_searched_{event} ON {table}_translation"
                )
            )
        op.execute(sa.text(f"DROP FUNCTION hverdag_{table}_translations_searched()"))
        _drop_search_documents(table)
        op.drop_column(table, "translated_document")
        op.drop_column(table, "translated_text")
        op.drop_column(table, "translations")
        _search_documents(table, name, translated=False)
    op.execute(sa.text("DROP AGGREGATE hverdag_tsvector_agg(tsvector)"))
    op.execute(sa.text("DROP FUNCTION hverdag_ts_config(text)"))
    for entry in reversed(TRANSLATED_FIELDS):
        op.drop_table(f"{entry}_translation")
