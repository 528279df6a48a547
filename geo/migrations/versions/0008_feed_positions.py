"""Feed positions: where each RPDE feed read by ``hverdag load rpde`` stopped

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

- ``feed_position``: per feed (its URL as first given), the ``next`` URL of the last page
  applied. RPDE's cursor is opaque to a reader (``afterTimestamp``/``afterId``,
  ``afterChangeNumber``, or a publisher's own), so the URL is what is kept, not a number as in
  ``registry_sync``. It moves in the transaction that applies the pages.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_position",
        sa.Column("feed", sa.Text(), nullable=False),
        sa.Column("next_url", sa.Text(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("feed", name=op.f("pk_feed_position")),
    )


def downgrade() -> None:
    op.drop_table("feed_position")
