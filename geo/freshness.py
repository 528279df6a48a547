"""Staleness: an entry not verified for ``HVERDAG_STALE_AFTER_DAYS`` days is stale.

The line is drawn at a day, not an instant: on ``as_of`` an entry is stale when it was last
verified before midnight (UTC) of the day ``stale_after_days`` days earlier, so an answer's
staleness changes once a day, and statements that embed the line (the ``freshOnly`` filter)
stay cached for that day. Every function takes the date it judges on: tests pass it, the API
passes the request's clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement


def stale_before(as_of: datetime, stale_after_days: int) -> datetime:
    """The instant before which a verification is too old on ``as_of``."""
    day = as_of.astimezone(UTC).date() - timedelta(days=stale_after_days)
    return datetime.combine(day, time(), tzinfo=UTC)


def is_stale(last_verified_at: datetime, line: datetime) -> bool:
    return last_verified_at < line


def stale_column(
    table: sa.Table | sa.TableClause, line: ColumnElement[datetime]
) -> ColumnElement[bool]:
    """``table``'s rows' staleness against ``line`` (a bound value or a literal)."""
    return table.c.last_verified_at < line


def stale_line_param() -> ColumnElement[datetime]:
    """The line as the bound value ``stale_before``, set when a cached statement runs."""
    return sa.bindparam("stale_before", type_=sa.DateTime(timezone=True))
