"""Problem reports as their owners' work queue, and which entries have open ones."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from geo.queries.rows import to_dataclass
from geo.tables import activity, immigrant_council, problem_report, venue
from geo.vocab import EntryKind, ProblemStatus, Role


@dataclass(frozen=True)
class ProblemReportRow:
    id: int
    entry_kind: str
    entry_id: int
    source: str
    kind: str
    message: str
    contact: str | None
    status: str
    outcome: str | None
    resolution_note: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    created_at: datetime
    entry_name: str | None
    municipality_number: str | None
    organisation_id: int | None


@dataclass(frozen=True)
class ReportScope:
    """Whose reports a key sees: everyone's (None, None), a municipality's venues and
    councils, or an organisation's activities: exactly the entries it may correct."""

    municipality_number: str | None = None
    organisation_id: int | None = None

    @classmethod
    def of(
        cls, role: Role, municipality_number: str | None, organisation_id: int | None
    ) -> ReportScope:
        if role is Role.MUNICIPALITY_EDITOR:
            return cls(municipality_number=municipality_number)
        if role is Role.ORGANISATION_EDITOR:
            return cls(organisation_id=organisation_id)
        return cls()


def _joined() -> tuple[sa.FromClause, list[ColumnElement[object]], ColumnElement[str]]:

    def kind_is(kind: EntryKind, table: sa.Table) -> ColumnElement[bool]:
        return sa.and_(
            problem_report.c.entry_kind == kind.value, table.c.id == problem_report.c.entry_id
        )

    joined = (
        problem_report.outerjoin(activity, kind_is(EntryKind.ACTIVITY, activity))
        .outerjoin(venue, kind_is(EntryKind.VENUE, venue))
        .outerjoin(immigrant_council, kind_is(EntryKind.COUNCIL, immigrant_council))
    )
    place = sa.func.coalesce(venue.c.municipality_number, immigrant_council.c.municipality_number)
    columns: list[ColumnElement[object]] = [
        *(c for c in problem_report.c if c.name != "reporter_hash"),
        sa.func.coalesce(activity.c.title, venue.c.name, immigrant_council.c.name).label(
            "entry_name"
        ),
        sa.func.coalesce(activity.c.municipality_number, place).label("municipality_number"),
        activity.c.organisation_id.label("organisation_id"),
    ]
    return joined, columns, place


def problem_reports(
    conn: sa.Connection,
    scope: ReportScope,
    status: ProblemStatus | None,
    first: int,
    after_id: int | None = None,
) -> tuple[list[ProblemReportRow], bool]:
    """The reports in ``scope`` with ``status`` (None: any), oldest first; and whether more
    follow."""
    joined, columns, place = _joined()
    where: list[ColumnElement[bool]] = []
    if scope.municipality_number is not None:
        where += [
            problem_report.c.entry_kind.in_([EntryKind.VENUE.value, EntryKind.COUNCIL.value]),
            place == scope.municipality_number,
        ]
    if scope.organisation_id is not None:
        where += [
            problem_report.c.entry_kind == EntryKind.ACTIVITY.value,
            activity.c.organisation_id == scope.organisation_id,
        ]
    if status is not None:
        where.append(problem_report.c.status == status.value)
    if after_id is not None:
        where.append(problem_report.c.id > after_id)
    rows = conn.execute(
        sa.select(*columns)
        .select_from(joined)
        .where(*where)
        .order_by(problem_report.c.id)
        .limit(first + 1)
    ).all()
    found = [to_dataclass(ProblemReportRow, row) for row in rows[:first]]
    return found, len(rows) > first


def open_report_counts(
    conn: sa.Connection, entries: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """How many open reports each (entry kind, id) has (absent: none)."""
    keys = sorted(set(entries))
    if not keys:
        return {}
    rows = conn.execute(
        sa.select(
            problem_report.c.entry_kind, problem_report.c.entry_id, sa.func.count().label("n")
        )
        .where(
            problem_report.c.status == ProblemStatus.OPEN.value,
            sa.tuple_(problem_report.c.entry_kind, problem_report.c.entry_id).in_(keys),
        )
        .group_by(problem_report.c.entry_kind, problem_report.c.entry_id)
    )
    return {(row.entry_kind, row.entry_id): int(row.n) for row in rows}
