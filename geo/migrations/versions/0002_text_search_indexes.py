"""Indexes for the Norwegian-aware text filter

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

The text filter (geo/filters.py) matches either stemmed Norwegian full text or trigram word
similarity on lower-cased, unaccented text. Without indexes a query whose text matches few rows
read the whole table; these GIN indexes let PostgreSQL find the few rows first. unaccent() is
only STABLE (it reads a dictionary), so the indexed expression goes through an IMMUTABLE
wrapper naming its dictionary, the documented way to index it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHED = (("activity", "title"), ("venue", "name"))


def upgrade() -> None:
    # concat_ws() is only STABLE; the document function is the same join, declared IMMUTABLE.
    op.execute(
        sa.text(
            "CREATE FUNCTION hverdag_document(a text, b text) RETURNS text "
            "LANGUAGE sql IMMUTABLE PARALLEL SAFE "
            "RETURN coalesce(a, '') || ' ' || coalesce(b, '')"
        )
    )
    op.execute(
        sa.text(
            "CREATE FUNCTION hverdag_search_text(a text, b text) RETURNS text "
            "LANGUAGE sql IMMUTABLE PARALLEL SAFE "
            "RETURN lower(public.unaccent('public.unaccent'::regdictionary, "
            "hverdag_document(a, b)))"
        )
    )
    for table, name in SEARCHED:
        op.execute(
            sa.text(
                f"CREATE INDEX ix_{table}_search_trgm ON {table} "
                f"USING gin (hverdag_search_text({name}, description) gin_trgm_ops)"
            )
        )
        op.execute(
            sa.text(
                f"CREATE INDEX ix_{table}_search_fts ON {table} "
                f"USING gin (to_tsvector('norwegian'::regconfig, "
                f"hverdag_document({name}, description)))"
            )
        )


def downgrade() -> None:
    for table, _ in SEARCHED:
        op.execute(sa.text(f"DROP INDEX ix_{table}_search_fts"))
        op.execute(sa.text(f"DROP INDEX ix_{table}_search_trgm"))
    op.execute(sa.text("DROP FUNCTION hverdag_search_text(text, text)"))
    op.execute(sa.text("DROP FUNCTION hverdag_document(text, text)"))
