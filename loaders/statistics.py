"""Municipality statistics (population, immigrants by reason) into ``municipality_statistics``.

The file's rows are matched to the municipalities already loaded, whatever numbering either
uses: by number; else, for a row that is not marked as ceased, by name within the related
counties (``loaders.numbering``); else as a known split-off part of a loaded municipality.
Rows landing on one municipality (a split) are summed, and the report says so. Ceased
municipalities, regions that are no municipality (the country, counties, Svalbard) and rows
without figures are skipped. A row that matches nothing fails the load.

A load writes only the columns its file has, and a figure the file lacks (an empty cell)
never erases a stored one. Rows are upserted by (municipality, year); equal ones are left
untouched, so loading a file twice reports everything unchanged the second time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from geo.tables import municipality, municipality_statistics
from loaders.numbering import SPLIT_FROM, ceased, name_keys, related_counties
from loaders.report import LoadError, LoadReport, Problems
from loaders.ssb import SourceRow, read_statistics

Progress = Callable[[int, int], None]
_CHUNK = 500
Key = tuple[str, int]  # (municipality number, year)


@dataclass
class StatisticsReport(LoadReport):
    """A LoadReport that also says how the file's rows found their municipalities.

    ``matched`` maps each matched row's own number to the loaded municipality it went to.
    """

    by_number: int = 0
    by_name: int = 0
    by_split: int = 0
    summed: int = 0
    matched: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{super().summary()}; rows matched by number {self.by_number}, by name "
            f"{self.by_name}, as split-off parts {self.by_split}; {self.summed} "
            f"municipalities summed from several rows"
        )


@dataclass(frozen=True)
class _Loaded:
    """The municipalities in the database, by number and by (county, name key)."""

    names: dict[str, str]
    by_name: dict[tuple[str, str], list[str]]


def load_statistics(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    progress: Progress | None = None,
    year: int | None = None,
    fields: Mapping[str, str] | None = None,
) -> StatisticsReport:
    """Load an SSB StatBank CSV, a JSON-stat 2.0 dataset or a JSON array of municipalities.

    ``year``: the year of a JSON array's figures (default: the year in its file name); for
    the other formats, load only that year. ``fields``: a JSON array's keys for ``code``,
    ``name`` and ``population`` (``--population-field folketall``).
    """
    loaded = _loaded(conn, path)
    parsed = read_statistics(path, year=year, fields=fields)
    report = StatisticsReport(f"statistics ({parsed.format})")
    figures = _match(parsed.rows, loaded, report, path)
    _upsert(conn, figures, sorted(parsed.columns), source or path.name, report, progress)
    return report


def _loaded(conn: sa.Connection, path: Path) -> _Loaded:
    rows = conn.execute(sa.select(municipality.c.number, municipality.c.name)).all()
    if not rows:
        raise LoadError(
            "no municipalities in the database: load municipalities first",
            code="NO_MUNICIPALITIES",
            path=str(path),
        )
    by_name: dict[tuple[str, str], list[str]] = defaultdict(list)
    for number, name in rows:
        for key in name_keys([name]):
            by_name[(number[:2], key)].append(number)
    return _Loaded({str(number): str(name) for number, name in rows}, dict(by_name))


def _target(row: SourceRow, loaded: _Loaded, path: Path) -> tuple[str, str] | None:
    """(loaded municipality number, how it matched), or None for a ceased municipality."""
    assert row.number is not None
    if row.number in loaded.names:
        return row.number, "number"
    if any(ceased(name) for name in row.names):
        return None
    counties = related_counties(row.number[:2])
    keys = name_keys(row.names)
    found = sorted(
        {
            number
            for county in counties
            for key in keys
            for number in loaded.by_name.get((county, key), [])
        }
    )
    if len(found) > 1:
        raise LoadError(
            f"its name matches several municipalities: {', '.join(found)}",
            record=row.record,
            code="AMBIGUOUS",
            path=str(path),
        )
    if found:
        return found[0], "name"
    if SPLIT_FROM.get(row.number) in loaded.names:
        return SPLIT_FROM[row.number], "split"
    raise LoadError(
        f"matches no loaded municipality, by number nor by name in counties "
        f"{', '.join(sorted(counties))}",
        record=row.record,
        code="UNMATCHED",
        path=str(path),
    )


def _match(
    rows: list[SourceRow], loaded: _Loaded, report: StatisticsReport, path: Path
) -> dict[Key, dict[str, int]]:
    """The figures per (loaded municipality, year), summed where several rows land on one."""
    figures: dict[Key, dict[str, int]] = defaultdict(dict)
    sources: dict[Key, list[str]] = defaultdict(list)
    seen: dict[str, str] = {}
    regions: list[str] = []
    problems = Problems(str(path))
    for row in rows:
        if row.number is None or not row.values:
            report.skipped += 1
            if row.number is None:
                regions.append(row.record)
            continue
        target = None
        with problems.collecting():
            if row.number in seen:
                raise LoadError(
                    f"number {row.number} is also used by {seen[row.number]}",
                    record=row.record,
                    code="DUPLICATE_NUMBER",
                    path=str(path),
                )
            seen[row.number] = row.record
            target = _target(row, loaded, path)
        if problems:  # once a row is bad, only more problems are of use
            continue
        if target is None:
            report.skipped += 1
            continue
        _count_match(row, target, loaded, report)
        for (year, column), value in row.values.items():
            cell = figures[(target[0], year)]
            cell[column] = cell.get(column, 0) + value
            if row.record not in sources[(target[0], year)]:
                sources[(target[0], year)].append(row.record)
    problems.check()
    _note_sums(sources, loaded, report)
    if regions:
        shown = "; ".join(regions[:5]) + ("; …" if len(regions) > 5 else "")
        what = "1 region that is" if len(regions) == 1 else f"{len(regions)} regions that are"
        report.warnings.append(
            f"skipped {what} no municipality (the country, counties, Svalbard): {shown}"
        )
    return dict(figures)


def _count_match(
    row: SourceRow, target: tuple[str, str], loaded: _Loaded, report: StatisticsReport
) -> None:
    number, how = target
    report.matched[row.number or ""] = number
    if how == "number":
        report.by_number += 1
        if row.names and not name_keys(row.names) & name_keys([loaded.names[number]]):
            report.warnings.append(
                f"{row.record}: number {number} is {loaded.names[number]} "
                "in the database; stored there by number"
            )
    elif how == "name":
        report.by_name += 1
    else:
        report.by_split += 1


def _note_sums(sources: dict[Key, list[str]], loaded: _Loaded, report: StatisticsReport) -> None:
    summed: dict[str, dict[tuple[str, ...], list[int]]] = defaultdict(lambda: defaultdict(list))
    for (number, year), records in sources.items():
        if len(records) > 1:
            summed[number][tuple(records)].append(year)
    report.summed = len(summed)
    for number, groups in sorted(summed.items()):
        for summed_rows, years in groups.items():
            span = f"{min(years)}" if len(years) == 1 else f"{min(years)}-{max(years)}"
            report.warnings.append(
                f"municipality {number} {loaded.names[number]}: summed {len(summed_rows)} rows "
                f"for {span} ({'; '.join(summed_rows)})"
            )


def _existing(
    conn: sa.Connection, columns: list[str], numbers: set[str]
) -> dict[Key, dict[str, int | None]]:
    table = municipality_statistics
    query = sa.select(
        table.c.municipality_number, table.c.year, *(table.c[c] for c in columns)
    ).where(table.c.municipality_number.in_(sorted(numbers)))
    return {
        (row[0], row[1]): dict(zip(columns, row[2:], strict=True)) for row in conn.execute(query)
    }


def _upsert(
    conn: sa.Connection,
    figures: dict[Key, dict[str, int]],
    columns: list[str],
    source: str,
    report: LoadReport,
    progress: Progress | None,
) -> None:
    existing = _existing(conn, columns, {number for number, _ in figures})
    new = [key for key in figures if key not in existing]
    changed = [
        key
        for key in figures
        if key in existing and any(existing[key][c] != v for c, v in figures[key].items())
    ]
    report.inserted, report.updated = len(new), len(changed)
    report.unchanged = len(figures) - len(new) - len(changed)
    table = municipality_statistics
    insert = sa.insert(table)
    # COALESCE: a figure this file lacks keeps the stored one.
    update = (
        sa.update(table)
        .where(
            table.c.municipality_number == sa.bindparam("b_number"),
            table.c.year == sa.bindparam("b_year"),
        )
        .values(
            {
                c: sa.func.coalesce(sa.bindparam(f"b_{c}", type_=sa.Integer), table.c[c])
                for c in columns
            }
            | {"source": sa.bindparam("b_source"), "updated_at": sa.func.now()}
        )
    )
    inserts = [
        {"municipality_number": n, "year": y, "source": source}
        | {c: figures[(n, y)].get(c) for c in columns}
        for n, y in new
    ]
    updates = [
        {"b_number": n, "b_year": y, "b_source": source}
        | {f"b_{c}": figures[(n, y)].get(c) for c in columns}
        for n, y in changed
    ]
    done, total = report.unchanged, len(figures)
    for statement, params in ((insert, inserts), (update, updates)):
        for start in range(0, len(params), _CHUNK):
            chunk = params[start : start + _CHUNK]
            conn.execute(statement, chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    if progress:
        progress(total, total)
