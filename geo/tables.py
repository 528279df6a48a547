"""The data model as SQLAlchemy Core tables.

Geometries are typmod columns in EPSG:25833 with GiST indexes. Vocabulary columns are text with
CHECK constraints (easier to extend in a migration than PostgreSQL enum types). Every directory
row carries ``created_at``, ``updated_at``, ``archived_at`` (soft delete) and ``version``.
The Alembic migrations create exactly this; a test compares the two.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

from geo.crs import STORAGE_SRID
from geo.vocab import (
    AccessBarrier,
    AccessOutcome,
    ActivityCategory,
    ActivityStatus,
    AreaKind,
    CouncilKind,
    CouncilLevel,
    CouncilStatus,
    EntryKind,
    OrganisationKind,
    OwnerType,
    PriceModel,
    ProblemKind,
    ProblemOutcome,
    ProblemStatus,
    RegistryStatus,
    Role,
    TargetGroup,
    VenueType,
)

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _multipolygon() -> Geometry:
    return Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=False)


def _point() -> Geometry:
    return Geometry("POINT", srid=STORAGE_SRID, spatial_index=False)


def _vocab(column: str, enum: type[StrEnum], name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(sa.column(column).in_([e.value for e in enum]), name=name)


def _vocab_array(column: str, enum: type[StrEnum], name: str) -> sa.CheckConstraint:
    allowed = sa.literal([e.value for e in enum], ARRAY(sa.Text))
    return sa.CheckConstraint(sa.column(column, ARRAY(sa.Text)).contained_by(allowed), name=name)


def _lifecycle() -> list[sa.Column[Any]]:
    """created_at, updated_at, archived_at, version: what `changes(since:)` and edits rely on."""
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("archived_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    ]


def _provenance() -> list[sa.Column[Any]]:
    """Where a row came from; (source, external_id) is the key loaders upsert by."""
    return [
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("external_id", sa.Text),
    ]


def _verification() -> list[sa.Column[Any]]:
    """When someone last confirmed the entry true, and who (an editor's key label, or the source
    of a load that re-imported it): not ``updated_at``, which moves only when it changes."""
    return [
        sa.Column(
            "last_verified_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.Column("verified_by", sa.Text),
    ]


def _feed_stamp() -> sa.Column[int]:
    """The RPDE feeds' ``modified``: the writing transaction's id (migration 0007's trigger)."""
    return sa.Column(
        "feed_stamp", sa.BigInteger, nullable=False, server_default=sa.text("hverdag_feed_clock()")
    )


def _gist(table: str, *columns: str) -> sa.Index:
    return sa.Index(f"ix_{table}_{'_'.join(columns)}_gist", *columns, postgresql_using="gist")


county = sa.Table(
    "county",
    metadata,
    sa.Column("number", sa.CHAR(2), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("geom", _multipolygon(), nullable=False),
    *_provenance(),
    *_lifecycle(),
    sa.CheckConstraint(sa.column("number").regexp_match("^[0-9]{2}$"), name="number_digits"),
    _gist("county", "geom"),
)

municipality = sa.Table(
    "municipality",
    metadata,
    sa.Column("number", sa.CHAR(4), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    # The county is the number's first two digits; no foreign key so that either may load first.
    sa.Column(
        "county_number", sa.CHAR(2), sa.Computed("left(number, 2)", persisted=True), nullable=False
    ),
    sa.Column("geom", _multipolygon(), nullable=False),
    *_provenance(),
    *_lifecycle(),
    sa.CheckConstraint(sa.column("number").regexp_match("^[0-9]{4}$"), name="number_digits"),
    sa.Index("ix_municipality_county_number", "county_number"),
    _gist("municipality", "geom"),
)

# Figures per municipality and year as the publisher gave them; a loader may fill some columns.
municipality_statistics = sa.Table(
    "municipality_statistics",
    metadata,
    sa.Column(
        "municipality_number",
        sa.CHAR(4),
        sa.ForeignKey("municipality.number", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("year", sa.SmallInteger, primary_key=True),
    sa.Column("population", sa.Integer),
    sa.Column("immigrants", sa.Integer),
    sa.Column("refugees", sa.Integer),
    sa.Column("labour_immigrants", sa.Integer),
    sa.Column("family_immigrants", sa.Integer),
    sa.Column("education_immigrants", sa.Integer),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.CheckConstraint("year BETWEEN 1800 AND 2200", name="year_range"),
    sa.CheckConstraint(
        "coalesce(population, 0) >= 0 AND coalesce(immigrants, 0) >= 0 "
        "AND coalesce(refugees, 0) >= 0",
        name="non_negative",
    ),
)

statistical_area = sa.Table(
    "statistical_area",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("municipality_number", sa.CHAR(4)),
    sa.Column("geom", _multipolygon(), nullable=False),
    sa.Column("population", sa.Integer),
    sa.Column("immigrant_population", sa.Integer),
    sa.Column("year", sa.SmallInteger),
    *_provenance(),
    *_lifecycle(),
    _vocab("kind", AreaKind, "kind_vocab"),
    sa.UniqueConstraint("kind", "code"),
    sa.Index("ix_statistical_area_municipality_number", "municipality_number"),
    _gist("statistical_area", "kind", "geom"),
)

area_initiative = sa.Table(
    "area_initiative",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("slug", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("municipality_number", sa.CHAR(4)),
    sa.Column("geom", _multipolygon(), nullable=False),
    sa.Column("period_start", sa.Date),
    sa.Column("period_end", sa.Date),
    *_provenance(),
    *_lifecycle(),
    sa.CheckConstraint(
        "period_end IS NULL OR period_start IS NULL OR period_end >= period_start",
        name="period_order",
    ),
    _gist("area_initiative", "geom"),
)

organisation = sa.Table(
    "organisation",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("organisation_number", sa.CHAR(9), unique=True),
    sa.Column("kind", sa.Text, nullable=False, server_default=OrganisationKind.OTHER.value),
    sa.Column("in_voluntary_register", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("municipality_number", sa.CHAR(4)),
    sa.Column("website", sa.Text),
    sa.Column("description", sa.Text),
    # The business address and the register's word on it, from Brønnøysund's update feed
    # (loaders/organisation_updates.py); null registry_status: active as far as we know.
    sa.Column("address", sa.Text),
    sa.Column("postal_code", sa.CHAR(4)),
    sa.Column("postal_place", sa.Text),
    sa.Column("registry_status", sa.Text),
    sa.Column("registry_status_at", sa.DateTime(timezone=True)),
    *_provenance(),
    *_lifecycle(),
    _vocab("kind", OrganisationKind, "kind_vocab"),
    _vocab("registry_status", RegistryStatus, "registry_status_vocab"),
    sa.CheckConstraint(
        sa.column("organisation_number").regexp_match("^[0-9]{9}$"), name="orgnr_digits"
    ),
    sa.UniqueConstraint("source", "external_id"),
)

venue = sa.Table(
    "venue",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("owner_type", sa.Text, nullable=False),
    sa.Column("venue_type", sa.Text, nullable=False),
    sa.Column("owner_organisation_id", sa.BigInteger, sa.ForeignKey("organisation.id")),
    sa.Column("address", sa.Text),
    sa.Column("postal_code", sa.CHAR(4)),
    sa.Column("postal_place", sa.Text),
    sa.Column("geom", _point(), nullable=False),
    # Derived from the point by a spatial join, never typed in.
    sa.Column("municipality_number", sa.CHAR(4)),
    sa.Column("capacity", sa.Integer),
    # Null when the source does not say (Geonorge's schools): unknown is not "market price".
    sa.Column("price_model", sa.Text),
    sa.Column("price_note", sa.Text),
    sa.Column("step_free", sa.Boolean),
    sa.Column("accessibility", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("amenities", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("suitable_categories", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("booking_url", sa.Text),
    sa.Column("contact_name", sa.Text),
    sa.Column("contact_email", sa.Text),
    sa.Column("contact_phone", sa.Text),
    sa.Column("last_verified", sa.Date),
    *_provenance(),
    *_lifecycle(),
    *_verification(),
    _feed_stamp(),
    _vocab("owner_type", OwnerType, "owner_type_vocab"),
    _vocab("venue_type", VenueType, "venue_type_vocab"),
    _vocab("price_model", PriceModel, "price_model_vocab"),
    _vocab_array("suitable_categories", ActivityCategory, "suitable_categories_vocab"),
    sa.CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
    sa.UniqueConstraint("source", "external_id"),
    sa.Index("ix_venue_municipality_number", "municipality_number"),
    _gist("venue", "geom"),
)

# Weekly windows in which volunteers may use a venue (Europe/Oslo local time; ISO weekday).
venue_availability = sa.Table(
    "venue_availability",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "venue_id", sa.BigInteger, sa.ForeignKey("venue.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("weekday", sa.SmallInteger, nullable=False),
    sa.Column("starts", sa.Time, nullable=False),
    sa.Column("ends", sa.Time, nullable=False),
    sa.CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday_iso"),
    sa.CheckConstraint("ends > starts", name="window_order"),
    sa.Index("ix_venue_availability_venue_id", "venue_id"),
)

immigrant_council = sa.Table(
    "immigrant_council",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("level", sa.Text, nullable=False),
    sa.Column("municipality_number", sa.CHAR(4)),
    sa.Column("county_number", sa.CHAR(2)),
    sa.Column("status", sa.Text, nullable=False, server_default=CouncilStatus.ACTIVE.value),
    sa.Column("established", sa.SmallInteger),
    sa.Column("members", sa.SmallInteger),
    sa.Column("website", sa.Text),
    sa.Column("note", sa.Text),
    *_provenance(),
    *_lifecycle(),
    *_verification(),
    _vocab("kind", CouncilKind, "kind_vocab"),
    _vocab("level", CouncilLevel, "level_vocab"),
    _vocab("status", CouncilStatus, "status_vocab"),
    sa.CheckConstraint(
        "(level <> 'MUNICIPALITY' OR municipality_number IS NOT NULL) AND "
        "(level <> 'COUNTY' OR county_number IS NOT NULL)",
        name="level_has_place",
    ),
    sa.CheckConstraint("members IS NULL OR members > 0", name="members_positive"),
    sa.UniqueConstraint("source", "external_id"),
    sa.Index("ix_immigrant_council_municipality_number", "municipality_number"),
)

activity = sa.Table(
    "activity",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("organisation_id", sa.BigInteger, sa.ForeignKey("organisation.id")),
    sa.Column("venue_id", sa.BigInteger, sa.ForeignKey("venue.id")),
    # The venue's point when there is a venue, else its own: always set, so KNN has one column.
    sa.Column("geom", _point(), nullable=False),
    sa.Column("municipality_number", sa.CHAR(4)),
    sa.Column("target_groups", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("min_age", sa.SmallInteger),
    sa.Column("max_age", sa.SmallInteger),
    sa.Column("languages", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("free", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("cost_nok", sa.Numeric(10, 2)),
    sa.Column("leisure_card_accepted", sa.Boolean, nullable=False, server_default=sa.false()),
    # Its sessions skip the school holidays of its municipality (school_holiday).
    sa.Column("pauses_in_school_holidays", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("registration_required", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("registration_url", sa.Text),
    sa.Column("status", sa.Text, nullable=False, server_default=ActivityStatus.ACTIVE.value),
    sa.Column("url", sa.Text),
    sa.Column("contact_name", sa.Text),
    sa.Column("contact_email", sa.Text),
    sa.Column("contact_phone", sa.Text),
    *_provenance(),
    *_lifecycle(),
    *_verification(),
    _feed_stamp(),
    _vocab("category", ActivityCategory, "category_vocab"),
    _vocab("status", ActivityStatus, "status_vocab"),
    _vocab_array("target_groups", TargetGroup, "target_groups_vocab"),
    sa.CheckConstraint("min_age IS NULL OR min_age >= 0", name="min_age_range"),
    sa.CheckConstraint(
        "max_age IS NULL OR min_age IS NULL OR max_age >= min_age", name="age_order"
    ),
    sa.CheckConstraint("free OR cost_nok IS NOT NULL", name="cost_when_not_free"),
    sa.CheckConstraint("cost_nok IS NULL OR cost_nok >= 0", name="cost_non_negative"),
    sa.UniqueConstraint("source", "external_id"),
    sa.Index("ix_activity_venue_id", "venue_id"),
    sa.Index("ix_activity_organisation_id", "organisation_id"),
    sa.Index("ix_activity_municipality_number", "municipality_number"),
    # Equality on category and KNN order from one index scan (btree_gist).
    _gist("activity", "category", "geom"),
    _gist("activity", "geom"),
)

# Recurring weekly sessions (Europe/Oslo local time), each valid within an optional date range.
activity_schedule = sa.Table(
    "activity_schedule",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "activity_id",
        sa.BigInteger,
        sa.ForeignKey("activity.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("weekday", sa.SmallInteger, nullable=False),
    sa.Column("starts", sa.Time, nullable=False),
    sa.Column("ends", sa.Time, nullable=False),
    sa.Column("valid_from", sa.Date),
    sa.Column("valid_to", sa.Date),
    sa.CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday_iso"),
    sa.CheckConstraint("ends > starts", name="session_order"),
    sa.CheckConstraint(
        "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="validity_order"
    ),
    sa.Index("ix_activity_schedule_activity_id", "activity_id"),
)

# Dates on which a recurring activity does not take place (or moves).
activity_exception = sa.Table(
    "activity_exception",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "activity_id",
        sa.BigInteger,
        sa.ForeignKey("activity.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("on_date", sa.Date, nullable=False),
    sa.Column("cancelled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("note", sa.Text),
    sa.UniqueConstraint("activity_id", "on_date"),
)

venue_access_report = sa.Table(
    "venue_access_report",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("venue_id", sa.BigInteger, sa.ForeignKey("venue.id"), nullable=False),
    sa.Column("organisation_id", sa.BigInteger, sa.ForeignKey("organisation.id")),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("suitability", sa.SmallInteger),
    sa.Column("barriers", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("note", sa.Text),
    sa.Column("reported_on", sa.Date, nullable=False, server_default=sa.func.current_date()),
    *_provenance(),
    *_lifecycle(),
    _vocab("outcome", AccessOutcome, "outcome_vocab"),
    _vocab_array("barriers", AccessBarrier, "barriers_vocab"),
    sa.CheckConstraint(
        "suitability IS NULL OR suitability BETWEEN 1 AND 5", name="suitability_range"
    ),
    sa.UniqueConstraint("source", "external_id"),
    sa.Index("ix_venue_access_report_venue_id", "venue_id"),
)

# Problems the public reports with an entry (issue 17): no reporter's address, only a salted
# hash of it; the contact is private. The entry is (entry_kind, entry_id), no foreign key, as
# the three kinds live in three tables.
MAX_PROBLEM_MESSAGE = 2000
MAX_PROBLEM_CONTACT = 200
problem_report = sa.Table(
    "problem_report",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("entry_kind", sa.Text, nullable=False),
    sa.Column("entry_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("contact", sa.Text),
    # Who reported: the public (with the salted hash of the sender's address), or a registry
    # (``brreg``: an organisation deleted, bankrupt or dissolving flags its activities).
    sa.Column("source", sa.Text, nullable=False, server_default="public"),
    sa.Column("reporter_hash", sa.LargeBinary(32)),
    sa.Column("status", sa.Text, nullable=False, server_default=ProblemStatus.OPEN.value),
    sa.Column("outcome", sa.Text),
    sa.Column("resolution_note", sa.Text),
    sa.Column("resolved_by", sa.Text),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    _vocab("entry_kind", EntryKind, "entry_kind_vocab"),
    _vocab("kind", ProblemKind, "kind_vocab"),
    _vocab("status", ProblemStatus, "status_vocab"),
    _vocab("outcome", ProblemOutcome, "outcome_vocab"),
    sa.CheckConstraint(
        f"char_length(message) BETWEEN 1 AND {MAX_PROBLEM_MESSAGE}", name="message_length"
    ),
    sa.CheckConstraint(
        "(source = 'public') = (reporter_hash IS NOT NULL)", name="public_has_sender_hash"
    ),
    sa.CheckConstraint(
        f"contact IS NULL OR char_length(contact) <= {MAX_PROBLEM_CONTACT}", name="contact_length"
    ),
    sa.CheckConstraint(
        "(status = 'OPEN') = (outcome IS NULL AND resolved_at IS NULL)", name="resolved_has_outcome"
    ),
    sa.Index("ix_problem_report_entry_kind_entry_id", "entry_kind", "entry_id"),
    sa.Index("ix_problem_report_status_created_at", "status", "created_at"),
)

api_key = sa.Table(
    "api_key",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("key_hash", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("prefix", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("municipality_number", sa.CHAR(4)),
    sa.Column("organisation_id", sa.BigInteger, sa.ForeignKey("organisation.id")),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("last_used_at", sa.DateTime(timezone=True)),
    _vocab("role", Role, "role_vocab"),
    sa.CheckConstraint(
        "(role <> 'MUNICIPALITY_EDITOR' OR municipality_number IS NOT NULL) AND "
        "(role <> 'ORGANISATION_EDITOR' OR organisation_id IS NOT NULL)",
        name="role_has_scope",
    ),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("actor_key_id", sa.BigInteger, sa.ForeignKey("api_key.id")),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("entity", sa.Text, nullable=False),
    sa.Column("entity_id", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("before", JSONB),
    sa.Column("after", JSONB),
    sa.Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),
)

# How far each registry feed has been applied (loaders/organisation_updates.py): the next run
# asks for, and applies, only later updates.
registry_sync = sa.Table(
    "registry_sync",
    metadata,
    sa.Column("feed", sa.Text, primary_key=True),
    sa.Column("last_update_id", sa.BigInteger, nullable=False),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

# Where each RPDE feed read by `hverdag load rpde` (loaders/rpde.py) stopped: the ``next`` URL of
# the last page applied, moved in the transaction that applies the pages.
feed_position = sa.Table(
    "feed_position",
    metadata,
    sa.Column("feed", sa.Text, primary_key=True),
    sa.Column("next_url", sa.Text, nullable=False),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

# Webhooks (issue 17): subscriptions, the outbox of changes (written by triggers on activity,
# venue and immigrant_council in the changing transaction, migration 0006) and a delivery per
# matching subscription and change.
webhook_subscription = sa.Table(
    "webhook_subscription",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    # The HMAC key the deliveries are signed with: needed in clear to sign.
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("kinds", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("municipality_number", sa.CHAR(4)),
    sa.Column("categories", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("owner_key_id", sa.BigInteger, sa.ForeignKey("api_key.id"), nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("paused_at", sa.DateTime(timezone=True)),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_at", sa.DateTime(timezone=True)),
    sa.Column("last_success_at", sa.DateTime(timezone=True)),
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    _vocab_array("kinds", EntryKind, "kinds_vocab"),
    _vocab_array("categories", ActivityCategory, "categories_vocab"),
)

webhook_event = sa.Table(
    "webhook_event",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("entry_kind", sa.Text, nullable=False),
    sa.Column("entry_id", sa.BigInteger, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("municipality_number", sa.CHAR(4)),
    sa.Column(
        "occurred_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

webhook_delivery = sa.Table(
    "webhook_delivery",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "subscription_id",
        sa.BigInteger,
        sa.ForeignKey("webhook_subscription.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "event_id",
        sa.BigInteger,
        sa.ForeignKey("webhook_event.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("entry_kind", sa.Text, nullable=False),
    sa.Column("entry_id", sa.BigInteger, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="PENDING"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column(
        "next_attempt_at",
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now(),
    ),
    sa.Column("leased_until", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("status IN ('PENDING', 'DELIVERED')", name="status_known"),
    sa.UniqueConstraint("subscription_id", "event_id"),
    sa.Index(
        "ix_webhook_delivery_pending",
        "subscription_id",
        "entry_kind",
        "entry_id",
        "event_id",
        postgresql_where=sa.text("status = 'PENDING'"),
    ),
    sa.Index(
        "ix_webhook_delivery_due",
        "next_attempt_at",
        postgresql_where=sa.text("status = 'PENDING'"),
    ),
)
# Translations of an entry's texts (docs/languages.md), one table per kind of entry so each row's
# entry is a foreign key. A row is one field in one language; ``original_version`` is the entry's
# version it was made from and ``original_digest`` the md5 of the original text it translates:
# a translation whose digest differs from the original's now is outdated (kept and served,
# flagged). Names of organisations and places are never translated.
TRANSLATED_FIELDS: dict[str, tuple[str, ...]] = {
    "activity": ("title", "description"),
    "venue": ("description", "price_note"),
    "area_initiative": ("description",),
}


def _translation_table(entry: str) -> sa.Table:
    fields = TRANSLATED_FIELDS[entry]
    return sa.Table(
        f"{entry}_translation",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "entry_id",
            sa.BigInteger,
            sa.ForeignKey(f"{entry}.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("machine_translated", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("made_by", sa.Text, nullable=False),
        sa.Column("original_version", sa.Integer, nullable=False),
        sa.Column("original_digest", sa.Text, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.CheckConstraint(sa.column("field").in_(fields), name="field_translatable"),
        sa.CheckConstraint("language <> '' AND text <> ''", name="not_empty"),
        sa.UniqueConstraint("entry_id", "field", "language"),
    )


activity_translation = _translation_table("activity")
venue_translation = _translation_table("venue")
area_initiative_translation = _translation_table("area_initiative")
TRANSLATION_TABLES = {
    "activity": activity_translation,
    "venue": venue_translation,
    "area_initiative": area_initiative_translation,
}

# Vector tiles' pre-aggregated grid (geo/queries/tiles.py): for each point layer and each zoom
# that aggregates, the cell of a point is the XYZ tile at zoom z + 5 that holds it; a row per
# cell with live rows in it: how many, and the lowest id. Kept by triggers on venue and activity
# (migration 0003), in the writing transaction.
TILE_CELL_LAYERS = ("venues", "activities")
TILE_CELL_ZOOMS = range(10, 14)

tile_cell = sa.Table(
    "tile_cell",
    metadata,
    sa.Column("layer", sa.Text, primary_key=True),
    sa.Column("z", sa.SmallInteger, primary_key=True),
    sa.Column("x", sa.Integer, primary_key=True),
    sa.Column("y", sa.Integer, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("representative_id", sa.BigInteger, nullable=False),
    sa.CheckConstraint(sa.column("layer").in_(TILE_CELL_LAYERS), name="layer_known"),
    sa.CheckConstraint(
        f"z BETWEEN {TILE_CELL_ZOOMS[0]} AND {TILE_CELL_ZOOMS[-1]}", name="z_aggregated"
    ),
    # 0 only inside the writing transaction, while a cell is locked and recounted.
    sa.CheckConstraint("count >= 0", name="count_non_negative"),
)

# School holidays per municipality, as the operator loads them (loaders/school_holidays.py):
# an activity that pauses in them has no sessions from first_day to last_day inclusive.
school_holiday = sa.Table(
    "school_holiday",
    metadata,
    sa.Column("municipality_number", sa.CHAR(4), primary_key=True),
    sa.Column("first_day", sa.Date, primary_key=True),
    sa.Column("last_day", sa.Date, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.CheckConstraint("last_day >= first_day", name="day_order"),
)

# The RPDE feeds (geo/queries/feeds.py, migration 0007): one row whose shift keeps the stamps
# increasing after a restore into another cluster; the ids of activities and venues deleted
# outright; the ScheduledSession and Slot items expanded from schedules and availability.
feed_clock = sa.Table(
    "feed_clock",
    metadata,
    sa.Column("one", sa.Boolean, primary_key=True, server_default=sa.true()),
    sa.Column("shift", sa.BigInteger, nullable=False, server_default="0"),
    sa.CheckConstraint("one", name="one_row"),
)

feed_tombstone = sa.Table(
    "feed_tombstone",
    metadata,
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
    _feed_stamp(),
    sa.Index("ix_feed_tombstone_kind_feed_stamp", "kind", "feed_stamp"),
)

OCCURRENCE_KINDS = ("ScheduledSession", "Slot")
feed_occurrence = sa.Table(
    "feed_occurrence",
    metadata,
    sa.Column("kind", sa.Text, primary_key=True),
    # Byte order ("C"): the order RPDE's afterId compares in is the one every client computes.
    sa.Column("id", sa.Text(collation="C"), primary_key=True),
    sa.Column("parent_id", sa.BigInteger, nullable=False),
    sa.Column("starts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    _feed_stamp(),
    sa.CheckConstraint(sa.column("kind").in_(OCCURRENCE_KINDS), name="kind_known"),
    sa.CheckConstraint("ends > starts", name="time_order"),
    sa.Index("ix_feed_occurrence_kind_feed_stamp", "kind", "feed_stamp", "id"),
    sa.Index("ix_feed_occurrence_kind_parent_id", "kind", "parent_id"),
)

for _table in (activity, venue):
    sa.Index(f"ix_{_table.name}_feed_stamp", _table.c.feed_stamp, _table.c.id)

# Tables whose rows `changes(since:)` reports, each indexed on updated_at for that.
DIRECTORY_TABLES = (venue, activity, organisation, immigrant_council, area_initiative)
for _table in DIRECTORY_TABLES:
    sa.Index(f"ix_{_table.name}_updated_at", _table.c.updated_at, _table.c.id)

# The text filter's stored documents (migration 0004; geo/filters.py matches them): the name
# and description lower-cased and unaccented for trigram word similarity, and as Norwegian full
# text. Stored, so a candidate row's re-check reads a column instead of running unaccent() and
# to_tsvector() again (most of a common word's cost), and GIN-indexed. Migration 0005 adds the
# entry's translations to both: ``translated_text`` (every translation's text) and
# ``translated_document`` (each in its language's text-search configuration), kept by triggers
# on the translation tables in the writing transaction, feed the stored documents.
# The same triggers keep ``translations``: the entry's translations as one JSON array (of
# geo.queries.translations.COMPACT_FIELDS arrays), so near-me reads a page's texts from the rows
# it reads anyway.
SEARCH_COLUMN_NAMES = frozenset(
    {"search_text", "search_document", "translated_text", "translated_document", "translations"}
)
for _table, _name in ((activity, activity.c.title), (venue, venue.c.name)):
    _table.append_column(
        sa.Column("translations", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb"))
    )
    _table.append_column(sa.Column("translated_text", sa.Text, nullable=False, server_default=""))
    _table.append_column(
        sa.Column("translated_document", TSVECTOR, nullable=False, server_default="")
    )
    _table.append_column(
        sa.Column(
            "search_text",
            sa.Text,
            sa.Computed(
                sa.func.hverdag_search_text(
                    _name, sa.func.hverdag_document(_table.c.description, _table.c.translated_text)
                ),
                persisted=True,
            ),
            nullable=False,
        )
    )
    _table.append_column(
        sa.Column(
            "search_document",
            TSVECTOR,
            sa.Computed(
                sa.func.to_tsvector(
                    sa.literal_column("'norwegian'::regconfig"),
                    sa.func.hverdag_document(_name, _table.c.description),
                ).op("||")(_table.c.translated_document),
                persisted=True,
            ),
            nullable=False,
        )
    )
    sa.Index(
        f"ix_{_table.name}_search_trgm",
        _table.c.search_text,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    sa.Index(f"ix_{_table.name}_search_fts", _table.c.search_document, postgresql_using="gin")


#: Columns kept by triggers for the RPDE feeds alone (migration 0007): not data, not audited.
FEED_COLUMN_NAMES = frozenset({"feed_stamp"})


def data_columns(table: sa.Table) -> list[sa.Column[Any]]:
    """A table's columns without the text filter's stored documents, which only the filter reads
    (a tsvector is larger than the row's other text), and the feeds' stamps."""
    hidden = SEARCH_COLUMN_NAMES | FEED_COLUMN_NAMES
    return [column for column in table.c if column.name not in hidden]


#: Columns a write's audit snapshot leaves out: verification moves them without a new version
#: (loads and verifyEntries, audited as `verify` on their own), so a snapshot holding them would
#: make the next change's `before` differ from the previous change's `after`.
UNAUDITED_COLUMNS = frozenset({"created_at", "last_verified_at", "verified_by"})
