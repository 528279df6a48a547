"""Verified dates and problem reports

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-07

Activities, venues and councils get ``last_verified_at`` and ``verified_by`` (issue 17): when
someone last confirmed the entry true, which is not when it last changed. Existing rows count as
verified when they last changed (a venue: on the date its source gave, when later), by their
source. ``problem_report`` holds what the public reports about an entry.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERIFIED = ("activity", "venue", "immigrant_council")


def upgrade() -> None:
    for table in VERIFIED:
        op.add_column(
            table,
            sa.Column(
                "last_verified_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            ),
        )
        op.add_column(table, sa.Column("verified_by", sa.Text(), nullable=True))
        t = sa.table(
            table,
            sa.column("last_verified_at"),
            sa.column("verified_by"),
            sa.column("updated_at"),
            sa.column("source"),
        )
        op.execute(sa.update(t).values(last_verified_at=t.c.updated_at, verified_by=t.c.source))
    v = sa.table("venue", sa.column("last_verified_at"), sa.column("last_verified", sa.Date))
    op.execute(
        sa.update(v)
        .where(v.c.last_verified.is_not(None))
        .values(
            last_verified_at=sa.func.greatest(
                v.c.last_verified_at, sa.cast(v.c.last_verified, sa.DateTime(timezone=True))
            )
        )
    )
    op.create_table(
        "problem_report",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("entry_kind", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("reporter_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("status", sa.Text(), server_default="OPEN", nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "entry_kind IN ('ACTIVITY', 'VENUE', 'COUNCIL')",
            name=op.f("ck_problem_report_entry_kind_vocab"),
        ),
        sa.CheckConstraint(
            "kind IN ('NO_LONGER_RUNS', 'WRONG_TIME', 'WRONG_PLACE', 'ROOM_NOT_AVAILABLE', "
            "'OTHER')",
            name=op.f("ck_problem_report_kind_vocab"),
        ),
        sa.CheckConstraint(
            "status IN ('OPEN', 'RESOLVED')", name=op.f("ck_problem_report_status_vocab")
        ),
        sa.CheckConstraint(
            "outcome IN ('FIXED', 'CONFIRMED_CLOSED', 'NOT_A_PROBLEM', 'DUPLICATE')",
            name=op.f("ck_problem_report_outcome_vocab"),
        ),
        sa.CheckConstraint(
            "char_length(message) BETWEEN 1 AND 2000", name=op.f("ck_problem_report_message_length")
        ),
        sa.CheckConstraint(
            "contact IS NULL OR char_length(contact) <= 200",
            name=op.f("ck_problem_report_contact_length"),
        ),
        sa.CheckConstraint(
            "(status = 'OPEN') = (outcome IS NULL AND resolved_at IS NULL)",
            name=op.f("ck_problem_report_resolved_has_outcome"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_report")),
    )
    op.create_index(
        op.f("ix_problem_report_entry_kind_entry_id"), "problem_report", ["entry_kind", "entry_id"]
    )
    op.create_index(
        op.f("ix_problem_report_status_created_at"), "problem_report", ["status", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("problem_report")
    for table in VERIFIED:
        op.drop_column(table, "verified_by")
        op.drop_column(table, "last_verified_at")
