"""the whole data model

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 08:08:20.474409
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


EXTENSIONS = ("postgis", "btree_gist", "pg_trgm", "unaccent")


def upgrade() -> None:
    for extension in EXTENSIONS:
        op.execute(sa.text(f"CREATE EXTENSION IF NOT EXISTS {extension}"))
    op.create_geospatial_table(
        "area_initiative",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("municipality_number", sa.CHAR(length=4), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=25833,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "period_end IS NULL OR period_start IS NULL OR period_end >= period_start",
            name=op.f("ck_area_initiative_period_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area_initiative")),
        sa.UniqueConstraint("slug", name=op.f("uq_area_initiative_slug")),
    )
    op.create_geospatial_index(
        "ix_area_initiative_geom_gist",
        "area_initiative",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_area_initiative_updated_at", "area_initiative", ["updated_at", "id"], unique=False
    )
    op.create_geospatial_table(
        "county",
        sa.Column("number", sa.CHAR(length=2), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=25833,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("number ~ '^[0-9]{2}$'", name=op.f("ck_county_number_digits")),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_county")),
    )
    op.create_geospatial_index(
        "ix_county_geom_gist",
        "county",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "immigrant_council",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("municipality_number", sa.CHAR(length=4), nullable=True),
        sa.Column("county_number", sa.CHAR(length=2), nullable=True),
        sa.Column("status", sa.Text(), server_default="ACTIVE", nullable=False),
        sa.Column("established", sa.SmallInteger(), nullable=True),
        sa.Column("members", sa.SmallInteger(), nullable=True),
        sa.Column("website", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "(level <> 'MUNICIPALITY' OR municipality_number IS NOT NULL) AND (level <> 'COUNTY' OR county_number IS NOT NULL)",
            name=op.f("ck_immigrant_council_level_has_place"),
        ),
        sa.CheckConstraint(
            "kind IN ('INNVANDRERRAD', 'DIALOGFORUM', 'MANGFOLDSRAD', 'MINORITETSRAD', 'FLERKULTURELT_RAD', 'INTEGRERINGSRAD', 'OTHER')",
            name=op.f("ck_immigrant_council_kind_vocab"),
        ),
        sa.CheckConstraint(
            "level IN ('MUNICIPALITY', 'COUNTY', 'INDEPENDENT')",
            name=op.f("ck_immigrant_council_level_vocab"),
        ),
        sa.CheckConstraint(
            "status IN ('ACTIVE', 'DISBANDED')", name=op.f("ck_immigrant_council_status_vocab")
        ),
        sa.CheckConstraint(
            "members IS NULL OR members > 0", name=op.f("ck_immigrant_council_members_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_immigrant_council")),
        sa.UniqueConstraint(
            "source", "external_id", name=op.f("uq_immigrant_council_source_external_id")
        ),
    )
    op.create_index(
        "ix_immigrant_council_municipality_number",
        "immigrant_council",
        ["municipality_number"],
        unique=False,
    )
    op.create_index(
        "ix_immigrant_council_updated_at", "immigrant_council", ["updated_at", "id"], unique=False
    )
    op.create_geospatial_table(
        "municipality",
        sa.Column("number", sa.CHAR(length=4), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "county_number",
            sa.CHAR(length=2),
            sa.Computed("left(number, 2)", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=25833,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("number ~ '^[0-9]{4}$'", name=op.f("ck_municipality_number_digits")),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_municipality")),
    )
    op.create_index(
        "ix_municipality_county_number", "municipality", ["county_number"], unique=False
    )
    op.create_geospatial_index(
        "ix_municipality_geom_gist",
        "municipality",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "organisation",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("organisation_number", sa.CHAR(length=9), nullable=True),
        sa.Column("kind", sa.Text(), server_default="OTHER", nullable=False),
        sa.Column(
            "in_voluntary_register", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("municipality_number", sa.CHAR(length=4), nullable=True),
        sa.Column("website", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "kind IN ('IMMIGRANT_ORGANISATION', 'SPORTS_CLUB', 'HUMANITARIAN', 'FAITH_COMMUNITY', 'YOUTH', 'VOLUNTEER_CENTRE', 'SOCIAL_ENTREPRENEUR', 'PUBLIC_BODY', 'OTHER')",
            name=op.f("ck_organisation_kind_vocab"),
        ),
        sa.CheckConstraint(
            "organisation_number ~ '^[0-9]{9}$'", name=op.f("ck_organisation_orgnr_digits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
        sa.UniqueConstraint(
            "organisation_number", name=op.f("uq_organisation_organisation_number")
        ),
        sa.UniqueConstraint(
            "source", "external_id", name=op.f("uq_organisation_source_external_id")
        ),
    )
    op.create_index(
        "ix_organisation_updated_at", "organisation", ["updated_at", "id"], unique=False
    )
    op.create_geospatial_table(
        "statistical_area",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("municipality_number", sa.CHAR(length=4), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=25833,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("immigrant_population", sa.Integer(), nullable=True),
        sa.Column("year", sa.SmallInteger(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "kind IN ('GRID_250M', 'GRID_1KM', 'GRUNNKRETS', 'DELBYDEL', 'BYDEL')",
            name=op.f("ck_statistical_area_kind_vocab"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistical_area")),
        sa.UniqueConstraint("kind", "code", name=op.f("uq_statistical_area_kind_code")),
    )
    op.create_index(
        "ix_statistical_area_kind_geom_gist",
        "statistical_area",
        ["kind", "geom"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_statistical_area_municipality_number",
        "statistical_area",
        ["municipality_number"],
        unique=False,
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("municipality_number", sa.CHAR(length=4), nullable=True),
        sa.Column("organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(role <> 'MUNICIPALITY_EDITOR' OR municipality_number IS NOT NULL) AND (role <> 'ORGANISATION_EDITOR' OR organisation_id IS NOT NULL)",
            name=op.f("ck_api_key_role_has_scope"),
        ),
        sa.CheckConstraint(
            "role IN ('MUNICIPALITY_EDITOR', 'ORGANISATION_EDITOR', 'ANALYST', 'ADMIN')",
            name=op.f("ck_api_key_role_vocab"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_api_key_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_table(
        "municipality_statistics",
        sa.Column("municipality_number", sa.CHAR(length=4), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("immigrants", sa.Integer(), nullable=True),
        sa.Column("refugees", sa.Integer(), nullable=True),
        sa.Column("labour_immigrants", sa.Integer(), nullable=True),
        sa.Column("family_immigrants", sa.Integer(), nullable=True),
        sa.Column("education_immigrants", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "coalesce(population, 0) >= 0 AND coalesce(immigrants, 0) >= 0 AND coalesce(refugees, 0) >= 0",
            name=op.f("ck_municipality_statistics_non_negative"),
        ),
        sa.CheckConstraint(
            "year BETWEEN 1800 AND 2200", name=op.f("ck_municipality_statistics_year_range")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_number"],
            ["municipality.number"],
            name=op.f("fk_municipality_statistics_municipality_number_municipality"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "municipality_number", "year", name=op.f("pk_municipality_statistics")
        ),
    )
    op.create_geospatial_table(
        "venue",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner_type", sa.Text(), nullable=False),
        sa.Column("venue_type", sa.Text(), nullable=False),
        sa.Column("owner_organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("postal_code", sa.CHAR(length=4), nullable=True),
        sa.Column("postal_place", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=25833,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("municipality_number", sa.CHAR(length=4), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("price_model", sa.Text(), nullable=True),
        sa.Column("price_note", sa.Text(), nullable=True),
        sa.Column("step_free", sa.Boolean(), nullable=True),
        sa.Column(
            "accessibility", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("amenities", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "suitable_categories", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("booking_url", sa.Text(), nullable=True),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_email", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.Text(), nullable=True),
        sa.Column("last_verified", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "owner_type IN ('MUNICIPALITY', 'COUNTY', 'STATE', 'ORGANISATION', 'FAITH_COMMUNITY', 'PRIVATE')",
            name=op.f("ck_venue_owner_type_vocab"),
        ),
        sa.CheckConstraint(
            "price_model IN ('FREE', 'REDUCED', 'MARKET')", name=op.f("ck_venue_price_model_vocab")
        ),
        sa.CheckConstraint(
            "suitable_categories <@ ARRAY['LANGUAGE_CAFE', 'NORWEGIAN_PRACTICE', 'HOMEWORK_HELP', 'REFUGEE_GUIDE', 'MENTORING', 'SPORTS', 'CULTURE', 'OUTDOOR', 'PARENT_SUPPORT', 'WOMENS_GROUP', 'LIFE_SKILLS', 'DIGITAL_SKILLS', 'WORK_TRAINING', 'INFORMATION', 'DIALOGUE', 'MEETING_PLACE', 'YOUTH_CLUB', 'ACTIVITY_GUIDE']",
            name=op.f("ck_venue_suitable_categories_vocab"),
        ),
        sa.CheckConstraint(
            "venue_type IN ('SCHOOL', 'LIBRARY', 'CULTURE_HOUSE', 'SPORTS_HALL', 'COMMUNITY_CENTRE', 'YOUTH_CLUB', 'FAITH_VENUE', 'MEETING_ROOM', 'OFFICE', 'OUTDOOR', 'OTHER')",
            name=op.f("ck_venue_venue_type_vocab"),
        ),
        sa.CheckConstraint(
            "capacity IS NULL OR capacity > 0", name=op.f("ck_venue_capacity_positive")
        ),
        sa.ForeignKeyConstraint(
            ["owner_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_venue_owner_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_venue_source_external_id")),
    )
    op.create_geospatial_index(
        "ix_venue_geom_gist",
        "venue",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_venue_municipality_number", "venue", ["municipality_number"], unique=False)
    op.create_index("ix_venue_updated_at", "venue", ["updated_at", "id"], unique=False)
    op.create_geospatial_table(
        "activity",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("venue_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=25833,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("municipality_number", sa.CHAR(length=4), nullable=True),
        sa.Column(
            "target_groups", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("min_age", sa.SmallInteger(), nullable=True),
        sa.Column("max_age", sa.SmallInteger(), nullable=True),
        sa.Column("languages", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("free", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("cost_nok", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column(
            "leisure_card_accepted", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column(
            "registration_required", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("registration_url", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="ACTIVE", nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_email", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "category IN ('LANGUAGE_CAFE', 'NORWEGIAN_PRACTICE', 'HOMEWORK_HELP', 'REFUGEE_GUIDE', 'MENTORING', 'SPORTS', 'CULTURE', 'OUTDOOR', 'PARENT_SUPPORT', 'WOMENS_GROUP', 'LIFE_SKILLS', 'DIGITAL_SKILLS', 'WORK_TRAINING', 'INFORMATION', 'DIALOGUE', 'MEETING_PLACE', 'YOUTH_CLUB', 'ACTIVITY_GUIDE')",
            name=op.f("ck_activity_category_vocab"),
        ),
        sa.CheckConstraint(
            "status IN ('ACTIVE', 'PAUSED', 'CANCELLED', 'ENDED')",
            name=op.f("ck_activity_status_vocab"),
        ),
        sa.CheckConstraint(
            "target_groups <@ ARRAY['CHILDREN', 'YOUTH', 'ADULTS', 'SENIORS', 'WOMEN', 'FAMILIES', 'NEWLY_ARRIVED', 'ASYLUM_SEEKERS', 'LABOUR_MIGRANTS']",
            name=op.f("ck_activity_target_groups_vocab"),
        ),
        sa.CheckConstraint(
            "cost_nok IS NULL OR cost_nok >= 0", name=op.f("ck_activity_cost_non_negative")
        ),
        sa.CheckConstraint(
            "free OR cost_nok IS NOT NULL", name=op.f("ck_activity_cost_when_not_free")
        ),
        sa.CheckConstraint(
            "max_age IS NULL OR min_age IS NULL OR max_age >= min_age",
            name=op.f("ck_activity_age_order"),
        ),
        sa.CheckConstraint(
            "min_age IS NULL OR min_age >= 0", name=op.f("ck_activity_min_age_range")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_activity_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["venue.id"], name=op.f("fk_activity_venue_id_venue")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_activity_source_external_id")),
    )
    op.create_index(
        "ix_activity_category_geom_gist",
        "activity",
        ["category", "geom"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_geospatial_index(
        "ix_activity_geom_gist",
        "activity",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_activity_municipality_number", "activity", ["municipality_number"], unique=False
    )
    op.create_index("ix_activity_organisation_id", "activity", ["organisation_id"], unique=False)
    op.create_index("ix_activity_updated_at", "activity", ["updated_at", "id"], unique=False)
    op.create_index("ix_activity_venue_id", "activity", ["venue_id"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("actor_key_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_key_id"], ["api_key.id"], name=op.f("fk_audit_log_actor_key_id_api_key")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(
        "ix_audit_log_entity_entity_id", "audit_log", ["entity", "entity_id"], unique=False
    )
    op.create_table(
        "venue_access_report",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("venue_id", sa.BigInteger(), nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("suitability", sa.SmallInteger(), nullable=True),
        sa.Column("barriers", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reported_on", sa.Date(), server_default=sa.text("CURRENT_DATE"), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "barriers <@ ARRAY['PRICE', 'OPENING_HOURS', 'BOOKING_PROCESS', 'NO_RESPONSE', 'INSURANCE_OR_KEYS', 'ACCESSIBILITY', 'SIZE', 'EQUIPMENT', 'LOCATION', 'RULES', 'OTHER']",
            name=op.f("ck_venue_access_report_barriers_vocab"),
        ),
        sa.CheckConstraint(
            "outcome IN ('GRANTED', 'REFUSED', 'NO_RESPONSE', 'TOO_EXPENSIVE', 'UNSUITABLE')",
            name=op.f("ck_venue_access_report_outcome_vocab"),
        ),
        sa.CheckConstraint(
            "suitability IS NULL OR suitability BETWEEN 1 AND 5",
            name=op.f("ck_venue_access_report_suitability_range"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_venue_access_report_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["venue.id"], name=op.f("fk_venue_access_report_venue_id_venue")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue_access_report")),
        sa.UniqueConstraint(
            "source", "external_id", name=op.f("uq_venue_access_report_source_external_id")
        ),
    )
    op.create_index(
        "ix_venue_access_report_venue_id", "venue_access_report", ["venue_id"], unique=False
    )
    op.create_table(
        "venue_availability",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("venue_id", sa.BigInteger(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.CheckConstraint("ends > starts", name=op.f("ck_venue_availability_window_order")),
        sa.CheckConstraint(
            "weekday BETWEEN 1 AND 7", name=op.f("ck_venue_availability_weekday_iso")
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"],
            ["venue.id"],
            name=op.f("fk_venue_availability_venue_id_venue"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue_availability")),
    )
    op.create_index(
        "ix_venue_availability_venue_id", "venue_availability", ["venue_id"], unique=False
    )
    op.create_table(
        "activity_exception",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("activity_id", sa.BigInteger(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_activity_exception_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_exception")),
        sa.UniqueConstraint(
            "activity_id", "on_date", name=op.f("uq_activity_exception_activity_id_on_date")
        ),
    )
    op.create_table(
        "activity_schedule",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("activity_id", sa.BigInteger(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint("ends > starts", name=op.f("ck_activity_schedule_session_order")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name=op.f("ck_activity_schedule_validity_order"),
        ),
        sa.CheckConstraint(
            "weekday BETWEEN 1 AND 7", name=op.f("ck_activity_schedule_weekday_iso")
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_activity_schedule_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_schedule")),
    )
    op.create_index(
        "ix_activity_schedule_activity_id", "activity_schedule", ["activity_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_activity_schedule_activity_id", table_name="activity_schedule")
    op.drop_table("activity_schedule")
    op.drop_table("activity_exception")
    op.drop_index("ix_venue_availability_venue_id", table_name="venue_availability")
    op.drop_table("venue_availability")
    op.drop_index("ix_venue_access_report_venue_id", table_name="venue_access_report")
    op.drop_table("venue_access_report")
    op.drop_index("ix_audit_log_entity_entity_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_activity_venue_id", table_name="activity")
    op.drop_index("ix_activity_updated_at", table_name="activity")
    op.drop_index("ix_activity_organisation_id", table_name="activity")
    op.drop_index("ix_activity_municipality_number", table_name="activity")
    op.drop_geospatial_index(
        "ix_activity_geom_gist", table_name="activity", postgresql_using="gist", column_name="geom"
    )
    op.drop_index("ix_activity_category_geom_gist", table_name="activity", postgresql_using="gist")
    op.drop_geospatial_table("activity")
    op.drop_index("ix_venue_updated_at", table_name="venue")
    op.drop_index("ix_venue_municipality_number", table_name="venue")
    op.drop_geospatial_index(
        "ix_venue_geom_gist", table_name="venue", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("venue")
    op.drop_table("municipality_statistics")
    op.drop_table("api_key")
    op.drop_index("ix_statistical_area_municipality_number", table_name="statistical_area")
    op.drop_index(
        "ix_statistical_area_kind_geom_gist", table_name="statistical_area", postgresql_using="gist"
    )
    op.drop_geospatial_table("statistical_area")
    op.drop_index("ix_organisation_updated_at", table_name="organisation")
    op.drop_table("organisation")
    op.drop_geospatial_index(
        "ix_municipality_geom_gist",
        table_name="municipality",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_index("ix_municipality_county_number", table_name="municipality")
    op.drop_geospatial_table("municipality")
    op.drop_index("ix_immigrant_council_updated_at", table_name="immigrant_council")
    op.drop_index("ix_immigrant_council_municipality_number", table_name="immigrant_council")
    op.drop_table("immigrant_council")
    op.drop_geospatial_index(
        "ix_county_geom_gist", table_name="county", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("county")
    op.drop_index("ix_area_initiative_updated_at", table_name="area_initiative")
    op.drop_geospatial_index(
        "ix_area_initiative_geom_gist",
        table_name="area_initiative",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("area_initiative")
    for extension in reversed(EXTENSIONS):
        op.execute(sa.text(f"DROP EXTENSION IF EXISTS {extension}"))
