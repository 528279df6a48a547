"""Verified dates, problem reports, webhooks and registry sync

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Activities, venues and councils get ``last_verified_at`` and ``verified_by`` (issue 17): when
someone last confirmed the entry true, which is not when it last changed. Existing rows count as
verified when they last changed (a venue: on the date its source gave, when later), by their
source. ``problem_report`` holds what the public reports about an entry.

Webhooks: ``webhook_subscription``, the outbox ``webhook_event`` and ``webhook_delivery`` (one
per matching subscription and event). A row trigger on activity, venue and immigrant_council
writes the event and its deliveries in the changing transaction, whoever changes the row (the
API, a load, importVenues): a change commits with its deliveries or not at all. An update that
leaves ``version`` alone (a verification, a re-load of an unchanged row) is no change. With no
live subscription the trigger returns at once.

Registry sync: an organisation's business address and registry status (deleted, bankrupt, …)
from Brønnøysund's update feed, and ``registry_sync``, how far each feed has been applied.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERIFIED = ("activity", "venue", "immigrant_council")
#: The activity categories as of this revision (0001's venue.suitable_categories check).
CATEGORIES = (
    "LANGUAGE_CAFE",
    "NORWEGIAN_PRACTICE",
    "HOMEWORK_HELP",
    "REFUGEE_GUIDE",
    "MENTORING",
    "SPORTS",
    "CULTURE",
    "OUTDOOR",
    "PARENT_SUPPORT",
    "WOMENS_GROUP",
    "LIFE_SKILLS",
    "DIGITAL_SKILLS",
    "WORK_TRAINING",
    "INFORMATION",
    "DIALOGUE",
    "MEETING_PLACE",
    "YOUTH_CLUB",
    "ACTIVITY_GUIDE",
)
#: The tables whose changes go out by webhook, with their entry kind.
PUSHED = {"activity": "ACTIVITY", "venue": "VENUE", "immigrant_council": "COUNCIL"}

OUTBOX_FUNCTION = """
CREATE FUNCTION hverdag_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  the_kind text := TG_ARGV[0];
  the_categories text[] := '{}';
  the_old_place char(4);
  the_action text;
  the_event bigint;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.version = OLD.version THEN
    RETURN NULL;  -- verified or re-loaded unchanged: no change to push
  END IF;
  IF NOT EXISTS (SELECT 1 FROM webhook_subscription WHERE deleted_at IS NULL) THEN
    RETURN NULL;
  END IF;
  IF the_kind = 'ACTIVITY' THEN
    the_categories := ARRAY[NEW.category];
  ELSIF the_kind = 'VENUE' THEN
    the_categories := NEW.suitable_categories;
  END IF;
  IF TG_OP = 'INSERT' THEN
    the_action := 'created';
  ELSE
    the_old_place := OLD.municipality_number;
    the_action := CASE
      WHEN OLD.archived_at IS NULL AND NEW.archived_at IS NOT NULL THEN 'archived'
      WHEN OLD.archived_at IS NOT NULL AND NEW.archived_at IS NULL THEN 'restored'
      ELSE 'updated' END;
  END IF;
  INSERT INTO webhook_event (entry_kind, entry_id, action, version, municipality_number)
  VALUES (the_kind, NEW.id, the_action, NEW.version, NEW.municipality_number)
  RETURNING id INTO the_event;
  INSERT INTO webhook_delivery (subscription_id, event_id, entry_kind, entry_id)
  SELECT s.id, the_event, the_kind, NEW.id
  FROM webhook_subscription s
  WHERE s.deleted_at IS NULL
    AND (cardinality(s.kinds) = 0 OR the_kind = ANY (s.kinds))
    AND (s.municipality_number IS NULL
         OR s.municipality_number = NEW.municipality_number
         OR s.municipality_number = the_old_place)
    AND (cardinality(s.categories) = 0 OR s.categories && the_categories);
  RETURN NULL;
END
$$
"""


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
        sa.Column("source", sa.Text(), server_default="public", nullable=False),
        sa.Column("reporter_hash", sa.LargeBinary(32), nullable=True),
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
            "(source = 'public') = (reporter_hash IS NOT NULL)",
            name=op.f("ck_problem_report_public_has_sender_hash"),
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
    _webhooks()
    _registry()


def _webhooks() -> None:
    text_array = postgresql.ARRAY(sa.Text())
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("kinds", text_array, server_default="{}", nullable=False),
        sa.Column("municipality_number", sa.CHAR(4), nullable=True),
        sa.Column("categories", text_array, server_default="{}", nullable=False),
        sa.Column("owner_key_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kinds <@ ARRAY['ACTIVITY', 'VENUE', 'COUNCIL']::text[]",
            name=op.f("ck_webhook_subscription_kinds_vocab"),
        ),
        sa.CheckConstraint(
            "categories <@ ARRAY[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]::text[]",
            name=op.f("ck_webhook_subscription_categories_vocab"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_key_id"],
            ["api_key.id"],
            name=op.f("fk_webhook_subscription_owner_key_id_api_key"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscription")),
    )
    op.create_table(
        "webhook_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("entry_kind", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("municipality_number", sa.CHAR(4), nullable=True),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_event")),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("subscription_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_kind", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), server_default="PENDING", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('PENDING', 'DELIVERED')", name=op.f("ck_webhook_delivery_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_event.id"],
            name=op.f("fk_webhook_delivery_event_id_webhook_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscription.id"],
            name=op.f("fk_webhook_delivery_subscription_id_webhook_subscription"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint(
            "subscription_id", "event_id", name=op.f("uq_webhook_delivery_subscription_id_event_id")
        ),
    )
    op.create_index(
        "ix_webhook_delivery_pending",
        "webhook_delivery",
        ["subscription_id", "entry_kind", "entry_id", "event_id"],
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_index(
        "ix_webhook_delivery_due",
        "webhook_delivery",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.execute(sa.text(OUTBOX_FUNCTION))
    for table, kind in PUSHED.items():
        op.execute(
            sa.text(
                f"CREATE TRIGGER webhook_outbox_{table} AFTER INSERT OR UPDATE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION hverdag_outbox('{kind}')"
            )
        )


def _registry() -> None:
    """Brønnøysund's update feed: the organisation's address and status, and how far the feed
    has been applied."""
    op.add_column("organisation", sa.Column("address", sa.Text(), nullable=True))
    op.add_column("organisation", sa.Column("postal_code", sa.CHAR(4), nullable=True))
    op.add_column("organisation", sa.Column("postal_place", sa.Text(), nullable=True))
    op.add_column("organisation", sa.Column("registry_status", sa.Text(), nullable=True))
    op.add_column(
        "organisation",
        sa.Column("registry_status_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_check_constraint(
        op.f("ck_organisation_registry_status_vocab"),
        "organisation",
        "registry_status IN ('DELETED', 'REMOVED', 'BANKRUPT', 'DISSOLVING', 'FORCED_DISSOLUTION')",
    )
    op.create_table(
        "registry_sync",
        sa.Column("feed", sa.Text(), nullable=False),
        sa.Column("last_update_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("feed", name=op.f("pk_registry_sync")),
    )


def downgrade() -> None:
    op.drop_table("registry_sync")
    op.drop_constraint(op.f("ck_organisation_registry_status_vocab"), "organisation")
    for column in ("registry_status_at", "registry_status", "postal_place", "postal_code"):
        op.drop_column("organisation", column)
    op.drop_column("organisation", "address")
    for table in PUSHED:
        op.execute(sa.text(f"DROP TRIGGER webhook_outbox_{table} ON {table}"))
    op.execute(sa.text("DROP FUNCTION hverdag_outbox()"))
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_event")
    op.drop_table("webhook_subscription")
    op.drop_table("problem_report")
    for table in VERIFIED:
        op.drop_column(table, "verified_by")
        op.drop_column(table, "last_verified_at")
