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
"""

import json
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

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


def downgrade() -> None:
    for entry in reversed(TRANSLATED_FIELDS):
        op.drop_table(f"{entry}_translation")
