"""Municipality and county boundaries from any vector file GDAL reads, in any declared CRS.

The whole file is checked first (numbers, names, geometries, each transformed once to
EPSG:25833 and repaired when invalid); only then is anything written, by number: new rows are
inserted, changed ones updated (``version`` + 1, ``updated_at``), equal ones (same name, same
vertices within 1 mm) left untouched.
A LoadError therefore leaves the database as it was; the caller's transaction covers the rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry

from geo.crs import STORAGE_SRID
from geo.polygons import CRSError, GeometryError, make_areal, outside_norway, to_storage
from geo.tables import county, municipality
from loaders.fields import FieldMap, fields_listed, named_field, option_for, resolve_fields
from loaders.numbering import NumberError, normalise_number
from loaders.report import LoadError, LoadReport, Problems
from loaders.vector import VectorFile, read_vector

Progress = Callable[[int, int], None]
_CHUNK = 50  # rows per bulk statement: one progress step, and few round trips


@dataclass(frozen=True)
class _Kind:
    """What differs between municipalities and counties."""

    what: str
    noun: str
    table: sa.Table
    digits: int
    number_fields: tuple[str, ...]
    name_fields: tuple[str, ...]


MUNICIPALITIES = _Kind(
    what="municipalities",
    noun="municipality",
    table=municipality,
    digits=4,
    # "kommunenum" is "kommunenummer" cut to a shapefile's 10 characters.
    number_fields=("kommunenummer", "kommunenr", "kommunenum", "komm", "knr", "number"),
    name_fields=("navn", "kommunenavn", "name"),
)
COUNTIES = _Kind(
    what="counties",
    noun="county",
    table=county,
    digits=2,
    number_fields=("fylkesnummer", "fylkesnr", "fylkesnumm", "fylke", "fnr", "number"),
    name_fields=("navn", "fylkesnavn", "name"),
)


# Stored and loaded geometries this close (same vertices, each within 1 mm) are the same
# boundary: a re-export that rounds coordinates differently is no change worth a new version.
SAME_GEOMETRY_TOLERANCE_M = 0.001


@dataclass(frozen=True)
class Boundary:
    """One checked feature, ready to store: a valid MultiPolygon in EPSG:25833, and its WKB."""

    number: str
    name: str
    geom: shapely.MultiPolygon
    wkb: bytes

    def same_as(self, name: str, wkb: bytes) -> bool:
        return name == self.name and (
            wkb == self.wkb
            or bool(
                shapely.equals_exact(
                    shapely.from_wkb(wkb), self.geom, tolerance=SAME_GEOMETRY_TOLERANCE_M
                )
            )
        )


def load_municipalities(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    progress: Progress | None = None,
    layer: str | None = None,
    fields: FieldMap | None = None,
) -> LoadReport:
    """Load municipality boundaries (``kommunenummer``, ``navn``; or the fields ``fields``
    names: ``code``/``number``, ``name``) from ``path``."""
    return _load(
        conn, path, MUNICIPALITIES, source=source, progress=progress, layer=layer, fields=fields
    )


def load_counties(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    progress: Progress | None = None,
    layer: str | None = None,
    fields: FieldMap | None = None,
) -> LoadReport:
    """Load county boundaries (``fylkesnummer``, ``navn``; or the fields ``fields`` names)
    from ``path``."""
    return _load(conn, path, COUNTIES, source=source, progress=progress, layer=layer, fields=fields)


def _load(
    conn: sa.Connection,
    path: Path,
    kind: _Kind,
    *,
    source: str | None,
    progress: Progress | None,
    layer: str | None,
    fields: FieldMap | None = None,
) -> LoadReport:
    report = LoadReport(kind.what)
    boundaries = read_boundaries(path, kind, report, layer=layer, fields=fields)
    _upsert(conn, kind, boundaries, source or path.name, report, progress)
    return report


#: The roles the options name -> a boundary's columns.
ROLES = {"code": "number", "name": "name"}


def read_boundaries(
    path: Path,
    kind: _Kind,
    report: LoadReport,
    *,
    layer: str | None = None,
    fields: FieldMap | None = None,
) -> list[Boundary]:
    """Every feature checked and repaired, or LoadErrors naming every bad one."""
    data = read_vector(path, layer=layer)
    named = resolve_fields(fields, ROLES, ("number", "name"), f"load {kind.what}")
    number_field = (
        named_field(data.fields, named["number"], "number", path)
        if "number" in named
        else _required_field(data, kind.number_fields, path, "number")
    )
    name_field = (
        named_field(data.fields, named["name"], "name", path)
        if "name" in named
        else _required_field(data, kind.name_fields, path, "name")
    )
    try:
        geometries = to_storage(data.geometries, data.crs)
    except CRSError as error:
        raise LoadError(str(error), code="BAD_CRS", path=str(path)) from error
    boundaries: list[Boundary] = []
    seen: dict[str, str] = {}
    problems = Problems(str(path))
    for index in range(len(data)):
        raw_number = data.fields[number_field][index]
        name = _name(data.fields[name_field][index])
        label = _label(index, raw_number, name, kind)
        problems.place(label, index)
        with problems.collecting():
            number = _number_and_name(number_field, name_field, raw_number, name, label, kind, path)
            if number in seen:
                raise LoadError(
                    f"number {number} is also used by {seen[number]}",
                    record=label,
                    field=number_field,
                    code="DUPLICATE_NUMBER",
                    path=str(path),
                )
            seen[number] = label
            boundaries.append(_boundary(number, name, geometries[index], label, path, report))
    problems.check()
    if not boundaries:
        raise LoadError("the file has no features", code="EMPTY_FILE", path=str(path))
    return boundaries


def _number_and_name(
    number_field: str,
    name_field: str,
    raw_number: object,
    name: str,
    label: str,
    kind: _Kind,
    path: Path,
) -> str:
    """A feature's number, checked with its name: both wrong fields reported together."""
    problems = Problems(str(path))
    number = ""
    with problems.collecting():
        number = _number(raw_number, kind, label, number_field, path)
    if not name:
        problems.add(
            LoadError(
                "no name", record=label, field=name_field, code="MISSING_NAME", path=str(path)
            )
        )
    problems.check()
    return number


def _required_field(data: VectorFile, candidates: Sequence[str], path: Path, column: str) -> str:
    found = data.field(*candidates)
    if found is None:
        raise LoadError(
            f"none of the fields {', '.join(candidates)} is in layer {data.layer!r} "
            f"(its fields: {fields_listed(data.fields)}); name the one that holds the "
            f"{column} with {option_for(column, ROLES)}",
            field=candidates[0],
            code="MISSING_FIELD",
            path=str(path),
        )
    return found


def _name(value: object) -> str:
    """A trimmed name; GDAL gives None or NaN for a missing one, and a JSON string for
    Kartverket's list of names by language ([{"navn": "Oslo", "sprak": "nor"}, …])."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if text.startswith("["):
        try:
            names = [n for n in json.loads(text) if isinstance(n, dict) and n.get("navn")]
        except (json.JSONDecodeError, TypeError):
            return text
        norwegian = [n for n in names if n.get("sprak", n.get("språk")) == "nor"]
        return str((norwegian or names)[0]["navn"]).strip() if names else ""
    return text


def _label(index: int, raw_number: object, name: str, kind: _Kind) -> str:
    """How messages name a feature: its position (1-based, file order) and what it has."""
    try:
        number = normalise_number(raw_number, kind.digits)
    except NumberError:
        number = ""
    shown = " ".join(part for part in (number, name) if part)
    return f"feature {index + 1}" + (f" ({shown})" if shown else "")


def _number(raw: object, kind: _Kind, label: str, field: str, path: Path) -> str:
    try:
        return normalise_number(raw, kind.digits)
    except NumberError as error:
        raise LoadError(
            str(error),
            record=label,
            field=field,
            code="MISSING_NUMBER" if error.missing else "BAD_NUMBER",
            path=str(path),
        ) from error


def _boundary(
    number: str,
    name: str,
    geom: BaseGeometry | None,
    label: str,
    path: Path,
    report: LoadReport,
) -> Boundary:
    try:
        areal = make_areal(geom)
    except GeometryError as error:
        raise LoadError(
            str(error), record=label, field="geometry", code=error.code, path=str(path)
        ) from error
    if outside_norway(areal.geom):
        raise LoadError(
            "lies outside Norway once transformed to EPSG:25833; does the file "
            "declare the right CRS?",
            record=label,
            field="geometry",
            code="OUTSIDE_NORWAY",
            path=str(path),
        )
    if areal.repair:
        report.repaired += 1
        report.warnings.append(f"repaired invalid geometry of {number} {name}: {areal.repair}")
    return Boundary(number, name, areal.geom, shapely.to_wkb(areal.geom, byte_order=1))


def _existing(
    conn: sa.Connection, table: sa.Table, numbers: list[str]
) -> dict[str, tuple[str, bytes]]:
    """(name, WKB) of the rows already stored under these numbers."""
    wkb = sa.cast(sa.func.ST_AsBinary(table.c.geom, "NDR"), sa.LargeBinary)
    query = sa.select(table.c.number, table.c.name, wkb).where(table.c.number.in_(numbers))
    return {number: (name, bytes(data)) for number, name, data in conn.execute(query)}


def _upsert(
    conn: sa.Connection,
    kind: _Kind,
    boundaries: list[Boundary],
    source: str,
    report: LoadReport,
    progress: Progress | None,
) -> None:
    table = kind.table
    existing = _existing(conn, table, [b.number for b in boundaries])
    new = [b for b in boundaries if b.number not in existing]
    changed = [b for b in boundaries if b.number in existing and not b.same_as(*existing[b.number])]
    report.inserted, report.updated = len(new), len(changed)
    report.unchanged = len(boundaries) - len(new) - len(changed)
    _note_absent(conn, kind, {b.number for b in boundaries}, report)
    geom = sa.func.ST_GeomFromWKB(sa.bindparam("b_wkb", type_=sa.LargeBinary), STORAGE_SRID)
    insert = sa.insert(table).values(
        number=sa.bindparam("b_number"),
        name=sa.bindparam("b_name"),
        geom=geom,
        source=sa.bindparam("b_source"),
    )
    update = (
        sa.update(table)
        .where(table.c.number == sa.bindparam("b_number"))
        .values(
            name=sa.bindparam("b_name"),
            geom=geom,
            source=sa.bindparam("b_source"),
            version=table.c.version + 1,
            updated_at=sa.func.now(),
        )
    )
    done, total = report.unchanged, len(boundaries)
    for statement, rows in ((insert, new), (update, changed)):
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            conn.execute(
                statement,
                [
                    {"b_number": b.number, "b_name": b.name, "b_wkb": b.wkb, "b_source": source}
                    for b in chunk
                ],
            )
            done += len(chunk)
            if progress:
                progress(done, total)
    if progress:
        progress(total, total)


def _note_absent(conn: sa.Connection, kind: _Kind, numbers: set[str], report: LoadReport) -> None:
    """Stored rows the file does not have are kept (the file may cover one county); say so."""
    table = kind.table
    absent = conn.execute(
        sa.select(sa.func.count()).select_from(table).where(table.c.number.not_in(numbers))
    ).scalar_one()
    if absent:
        report.warnings.append(
            f"{absent} {kind.what if absent != 1 else kind.noun} already stored "
            f"but not in this file: left as they are"
        )
