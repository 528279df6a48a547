"""The text filter's documents stored with their rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

Migration 0002 indexed the text filter's expressions, so PostgreSQL found a rare word's rows
through the GIN indexes, but every candidate row was re-checked by running unaccent() and
to_tsvector() on its name and description again. A common word ("norsk") hands back thousands of
candidates near a point: re-computing them was most of its cost, and 16 clients sending such
words pushed ordinary near-me reads from 17 ms to 220-540 ms (issue 20). Here the lower-cased,
unaccented text and the Norwegian tsvector are generated columns, stored with the row and kept
by PostgreSQL on every write, and the GIN indexes are on those columns.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHED = (("activity", "title"), ("venue", "name"))


def upgrade() -> None:
    for table, name in SEARCHED:
        op.drop_index(f"ix_{table}_search_fts", table_name=table)
        op.drop_index(f"ix_{table}_search_trgm", table_name=table)
        op.add_column(
            table,
            sa.Column(
                "search_text",
                sa.Text,
                sa.Computed(f"hverdag_search_text({name}, description)", persisted=True),
                nullable=False,
            ),
        )
        op.add_column(
            table,
            sa.Column(
                "search_document",
                TSVECTOR,
                sa.Computed(
                    f"to_tsvector('norwegian'::regconfig, hverdag_document({name}, description))",
                    persisted=True,
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
        op.create_index(
            f"ix_{table}_search_fts", table, ["search_document"], postgresql_using="gin"
        )


def downgrade() -> None:
    for table, name in SEARCHED:
        op.drop_index(f"ix_{table}_search_fts", table_name=table)
        op.drop_index(f"ix_{table}_search_trgm", table_name=table)
        op.drop_column(table, "search_document")
        op.drop_column(table, "search_text")
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
