"""Open standards: school holidays, activities that pause in them, and RPDE feeds' change stamps

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

- ``activity.pauses_in_school_holidays``: whether an activity's sessions skip the school
  holidays of its municipality (``school_holiday``, loaded by ``hverdag load school-holidays``).
- ``feed_stamp`` on ``activity`` and ``venue``: the RPDE feeds' ``modified`` (docs/standards.md).
  A BEFORE trigger sets it to the writing transaction's id (``pg_current_xact_id()``, plus
  ``feed_clock.shift``) whenever a row changes. A feed serves only rows stamped below the
  oldest transaction still running (``pg_snapshot_xmin``): every transaction that could still
  commit a smaller stamp has then ended, so a client that pages on never skips a change, however
  writers interleave. Ordering by the time a transaction started (``updated_at``) cannot give
  that: a transaction that started first may commit last.
- ``feed_tombstone``: an activity or venue deleted outright (not archived) leaves its id and
  stamp, so the feeds can say ``deleted`` (RPDE keeps deletions at least 7 days).
- ``feed_occurrence``: the materialised ``ScheduledSession`` and ``Slot`` items (expanded from
  schedules and availability by ``hverdag feeds refresh``), stamped the same way.
- ``feed_clock``: one row; its ``shift`` keeps stamps increasing after a restore into a new
  cluster, whose transaction ids start again from low numbers (geo/backup.py rebases it).
- An item's ``modified`` also moves when what its ``data`` embeds changes (RPDE): triggers on
  ``venue`` and ``organisation`` restamp the activities, venues and slots that embed them, and
  statement triggers on the child tables (schedules, cancelled dates, availability) their
  parents.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMPED = ("activity", "venue", "feed_occurrence")
TOMBSTONED = {"activity": "SessionSeries", "venue": "FacilityUse"}
EMBEDDED = ("venue", "organisation")
VERIFICATION_COLUMNS = {
    "activity": ("last_verified_at", "verified_by"),
    "venue": ("last_verified_at", "verified_by"),
}
#: child table -> (parent table, the child's column naming the parent)
CHILDREN = {
    "activity_schedule": ("activity", "activity_id"),
    "activity_exception": ("activity", "activity_id"),
    "venue_availability": ("venue", "venue_id"),
}
CHILD_EVENTS = (
    ("insert", "INSERT", "NEW"),
    ("update", "UPDATE", "NEW"),
    ("delete", "DELETE", "OLD"),
)
CLOCK = "hverdag_feed_clock()"

FUNCTIONS = (
    # The stamp of a row this transaction writes (assigns the transaction an id if needed).
    "CREATE FUNCTION hverdag_feed_clock() RETURNS bigint LANGUAGE sql VOLATILE "
    "RETURN (SELECT pg_current_xact_id()::text::bigint + shift FROM feed_clock)",
    # Stamps below this are final: no transaction still running can commit one.
    "CREATE FUNCTION hverdag_feed_horizon() RETURNS bigint LANGUAGE sql STABLE "
    "RETURN (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + shift "
    "FROM feed_clock)",
    # Only a real change moves a row to the end of its feed (a loader's re-run does not). The
    # trigger's arguments name the generated columns, which a BEFORE trigger sees uncomputed.
    """CREATE FUNCTION hverdag_feed_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF to_jsonb(OLD) - coalesce(TG_ARGV, '{}') - 'feed_stamp' IS DISTINCT FROM
       to_jsonb(NEW) - coalesce(TG_ARGV, '{}') - 'feed_stamp' THEN
        NEW.feed_stamp := hverdag_feed_clock();
    END IF;
    RETURN NEW;
END
$$""",
    """CREATE FUNCTION hverdag_feed_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feed_tombstone (kind, id, deleted_at, feed_stamp)
    VALUES (TG_ARGV[0], OLD.id, now(), hverdag_feed_clock())
    ON CONFLICT (kind, id) DO UPDATE
        SET deleted_at = excluded.deleted_at, feed_stamp = excluded.feed_stamp;
    RETURN OLD;
END
$$""",
    # An item's modified moves when what it embeds changes (RPDE): a venue's name, address or
    # point (its activities' SessionSeries) or price (its Slots); an organisation's name or
    # web page (its activities' SessionSeries, its venues' FacilityUse).
    """CREATE FUNCTION hverdag_feed_venue_embedded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.name, OLD.address, OLD.postal_code, OLD.postal_place, OLD.geom)
        IS DISTINCT FROM (NEW.name, NEW.address, NEW.postal_code, NEW.postal_place, NEW.geom)
    THEN
        UPDATE activity SET feed_stamp = hverdag_feed_clock() WHERE venue_id = NEW.id;
    END IF;
    IF (OLD.price_model, OLD.booking_url) IS DISTINCT FROM (NEW.price_model, NEW.booking_url)
    THEN
        UPDATE feed_occurrence SET feed_stamp = hverdag_feed_clock()
        WHERE kind = 'Slot' AND parent_id = NEW.id AND deleted_at IS NULL;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE FUNCTION hverdag_feed_organisation_embedded() RETURNS trigger LANGUAGE plpgsql
AS $$
BEGIN
    IF (OLD.name, OLD.website) IS DISTINCT FROM (NEW.name, NEW.website) THEN
        UPDATE activity SET feed_stamp = hverdag_feed_clock() WHERE organisation_id = NEW.id;
        UPDATE venue SET feed_stamp = hverdag_feed_clock() WHERE owner_organisation_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$""",
    # A child row written (schedule, cancelled date, availability window) restamps its parent,
    # whatever wrote it; a parent this transaction stamped already is left alone.
    """CREATE FUNCTION hverdag_feed_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'UPDATE %I SET feed_stamp = hverdag_feed_clock() WHERE id IN '
        '(SELECT %I FROM changed) AND feed_stamp <> hverdag_feed_clock()',
        TG_ARGV[0], TG_ARGV[1]);
    RETURN NULL;
END
$$""",
    # After a restore into another cluster: stamps go on from the highest restored one.
    """CREATE FUNCTION hverdag_feed_clock_rebase() RETURNS void LANGUAGE sql AS $$
UPDATE feed_clock SET shift = greatest(shift, 1 + greatest(
    (SELECT max(feed_stamp) FROM activity), (SELECT max(feed_stamp) FROM venue),
    (SELECT max(feed_stamp) FROM feed_occurrence), (SELECT max(feed_stamp) FROM feed_tombstone)
) - pg_current_xact_id()::text::bigint)
$$""",
)


def _stamp_column() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("feed_stamp", sa.BigInteger(), server_default=sa.text(CLOCK), nullable=False)


def upgrade() -> None:
    op.create_table(
        "feed_clock",
        sa.Column("one", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("shift", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("one", name=op.f("ck_feed_clock_one_row")),
        sa.PrimaryKeyConstraint("one", name=op.f("pk_feed_clock")),
    )
    op.execute(sa.text("INSERT INTO feed_clock DEFAULT VALUES"))
    for statement in FUNCTIONS[:2]:
        op.execute(sa.text(statement))
    op.add_column(
        "activity",
        sa.Column(
            "pauses_in_school_holidays",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
    )
    for table in ("activity", "venue"):
        op.add_column(table, _stamp_column())
        op.create_index(f"ix_{table}_feed_stamp", table, ["feed_stamp", "id"])
    op.create_table(
        "school_holiday",
        sa.Column("municipality_number", sa.CHAR(4), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("last_day >= first_day", name=op.f("ck_school_holiday_day_order")),
        sa.PrimaryKeyConstraint("municipality_number", "first_day", name=op.f("pk_school_holiday")),
    )
    op.create_table(
        "feed_tombstone",
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        _stamp_column(),
        sa.PrimaryKeyConstraint("kind", "id", name=op.f("pk_feed_tombstone")),
    )
    op.create_index("ix_feed_tombstone_kind_feed_stamp", "feed_tombstone", ["kind", "feed_stamp"])
    op.create_table(
        "feed_occurrence",
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(collation="C"), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=False),
        sa.Column("starts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        _stamp_column(),
        sa.CheckConstraint(
            "kind IN ('ScheduledSession', 'Slot')", name=op.f("ck_feed_occurrence_kind_known")
        ),
        sa.CheckConstraint("ends > starts", name=op.f("ck_feed_occurrence_time_order")),
        sa.PrimaryKeyConstraint("kind", "id", name=op.f("pk_feed_occurrence")),
    )
    op.create_index(
        "ix_feed_occurrence_kind_feed_stamp", "feed_occurrence", ["kind", "feed_stamp", "id"]
    )
    op.create_index("ix_feed_occurrence_kind_parent_id", "feed_occurrence", ["kind", "parent_id"])
    for statement in FUNCTIONS[2:]:
        op.execute(sa.text(statement))
    for table in STAMPED:
        generated = op.get_bind().execute(
            sa.text(
                "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
                "AND attgenerated <> '' AND NOT attisdropped ORDER BY attnum"
            ),
            {"t": table},
        )
        # Generated columns, and the verification stamps (migration 0006): a re-import that
        # confirms a row changes no item's data, so it moves nothing in the feeds.
        ignored = [*generated.scalars(), *VERIFICATION_COLUMNS.get(table, ())]
        arguments = ", ".join(f"'{name}'" for name in ignored)
        op.execute(
            sa.text(
                f"CREATE TRIGGER feed_stamp BEFORE UPDATE ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION hverdag_feed_stamp({arguments})"
            )
        )
    for table, kind in TOMBSTONED.items():
        op.execute(
            sa.text(
                f"CREATE TRIGGER feed_tombstone AFTER DELETE ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION hverdag_feed_tombstone('{kind}')"
            )
        )
    for child, (parent, column) in CHILDREN.items():
        for name, event, rows in CHILD_EVENTS:
            op.execute(
                sa.text(
                    f"CREATE TRIGGER feed_parent_{name} AFTER {event} ON {child} "
                    f"REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION hverdag_feed_children('{parent}', '{column}')"
                )
            )
    for table in EMBEDDED:
        op.execute(
            sa.text(
                f"CREATE TRIGGER feed_embedded AFTER UPDATE ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION hverdag_feed_{table}_embedded()"
            )
        )


def downgrade() -> None:
    for child in CHILDREN:
        for name, _, _ in CHILD_EVENTS:
            op.execute(sa.text(f"DROP TRIGGER feed_parent_{name} ON {child}"))
    op.execute(sa.text("DROP FUNCTION hverdag_feed_children()"))
    for table in EMBEDDED:
        op.execute(sa.text(f"DROP TRIGGER feed_embedded ON {table}"))
        op.execute(sa.text(f"DROP FUNCTION hverdag_feed_{table}_embedded()"))
    for table in TOMBSTONED:
        op.execute(sa.text(f"DROP TRIGGER feed_tombstone ON {table}"))
    for table in STAMPED:
        op.execute(sa.text(f"DROP TRIGGER feed_stamp ON {table}"))
    for name in ("feed_clock_rebase", "feed_tombstone", "feed_stamp"):
        op.execute(sa.text(f"DROP FUNCTION hverdag_{name}()"))
    op.drop_table("feed_occurrence")
    op.drop_table("feed_tombstone")
    op.drop_table("school_holiday")
    for table in ("activity", "venue"):
        op.drop_index(f"ix_{table}_feed_stamp", table)
        op.drop_column(table, "feed_stamp")
    op.drop_column("activity", "pauses_in_school_holidays")
    op.execute(sa.text("DROP FUNCTION hverdag_feed_horizon()"))
    op.execute(sa.text("DROP FUNCTION hverdag_feed_clock()"))
    op.drop_table("feed_clock")
