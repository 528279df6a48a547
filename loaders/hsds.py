"""Open Referral HSDS 3.0: ``hverdag load hsds DIR-or-ZIP``, the reverse of the HSDS export
(geo/queries/hsds.py).

A tabular data package: a ``datapackage.json`` naming its CSV tables, in a directory or a zip.
Organizations become organisations (their number from ``organization_identifiers``), physical
locations venues (their address from ``addresses``, their volunteers' windows from the
location's schedules), services activities (their languages from ``languages``, their weekly
sessions from ``schedules``). A location that only stands for one service's own point (what the
export writes for an activity without a venue: no address, no description, no schedule, the
service's name) gives that activity its point instead of becoming a venue.

Ids: each row is keyed by (source, the HSDS id), so re-loading the same package changes
nothing. What HSDS does not carry gets a default, with a warning: an activity's category
(:data:`DEFAULT_CATEGORY`), a venue's owner and venue type. Every record is checked before
anything is written; a bad one is named with its table, row and field.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from geo import validation as v
from geo.crs import STORAGE_SRID
from geo.queries.hsds import (
    BYDAY,
    SERVICE_STATUS,
    UNKNOWN_ORGANISER,
    VOLUNTEER_WINDOW,
    hsds_id,
)
from geo.tables import organisation
from geo.upsert import upsert
from geo.vocab import ActivityCategory, OwnerType, TargetGroup, VenueType
from loaders.activities import ParsedActivity, parse_activity, place_at_venues, write_activities
from loaders.directory import (
    check_duplicates,
    join_municipalities,
    parse_records,
    resolve_organisations,
)
from loaders.organisations_csv import ParsedOrganisation, parse_organisation
from loaders.pointfile import Record
from loaders.report import LoadError, LoadReport, Problems
from loaders.venues import ParsedVenue, parse_venue, write_venues

DESCRIPTOR = "datapackage.json"
#: Dates before this are refused: no session of this directory predates it.
EARLIEST = date(2000, 1, 1)
#: HSDS does not say what kind of activity a service is: loaded as this, with a warning.
DEFAULT_CATEGORY = ActivityCategory.MEETING_PLACE
#: A package's tables together, uncompressed, and the descriptor (a zip bomb stops here).
MAX_PACKAGE_BYTES = 512 * 1024 * 1024
MAX_DESCRIPTOR_BYTES = 1024 * 1024
#: The tables read, by their resource name (singular, as HSDS names them).
TABLES = (
    "organization",
    "organization_identifier",
    "service",
    "location",
    "address",
    "service_at_location",
    "schedule",
    "language",
)
STATUS = {hsds: ours.value for ours, hsds in SERVICE_STATUS.items()}
DAYS = dict(zip(BYDAY, ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"), strict=True))
_COST = re.compile(r"^(\d+(?:[.,]\d{1,2})?)\s*NOK(; Fritidskortet accepted)?$", re.IGNORECASE)
_FREE = frozenset({"gratis", "gratis (free)", "free"})
_TARGETS = "Target groups: "
_REGISTRATION = "Registration required"
_NO_REGISTRATION = "No registration needed"
_BCP47 = "BCP 47: "
#: A location of these types is a place (HSDS's others: postal, virtual); empty: not said.
PHYSICAL = frozenset({"", "physical"})

Row = dict[str, str]


# --- reading the package ------------------------------------------------------------------------


def _not_hsds(path: Path, reason: str) -> LoadError:
    return LoadError(
        f"not an HSDS data package: {reason} (expected a directory or a zip with a "
        f"{DESCRIPTOR} naming the HSDS tables, as /export/hsds/datapackage.zip)",
        code="NOT_HSDS",
        path=path.name,
    )


class _Package:
    """The package's files, from a directory or a zip, each read at most once and bounded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.read_bytes = 0
        self.zip: zipfile.ZipFile | None = None
        if path.is_dir():
            return
        if not path.is_file():
            raise LoadError("no such file or directory", code="NOT_FOUND", path=str(path))
        try:
            self.zip = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            with path.open("rb") as handle:
                head = handle.read(4)
            reason = "a truncated zip" if head == b"PK\x03\x04" else "not a zip or a directory"
            raise _not_hsds(path, reason) from None

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def read(self, name: str, limit: int) -> bytes | None:
        """A member's bytes (None when the package lacks it); refused over ``limit`` or the
        package's total, or when the zip is damaged."""
        if self.zip is None:
            member = self.path / name
            if not member.is_file():
                return None
            size = member.stat().st_size
        else:
            try:
                info = self.zip.getinfo(name)
            except KeyError:
                return None
            size = info.file_size
        if size > limit or self.read_bytes + size > MAX_PACKAGE_BYTES:
            raise LoadError(
                f"{name} is {size} bytes uncompressed: more than a package may hold "
                f"({MAX_PACKAGE_BYTES} bytes in all)",
                code="TOO_LARGE",
                path=self.path.name,
            )
        try:
            data = member.read_bytes() if self.zip is None else self.zip.read(name)
        except (zipfile.BadZipFile, EOFError, OSError) as error:
            raise LoadError(
                f"{name} cannot be read: {error} (a truncated or damaged zip?)",
                code="BAD_FORMAT",
                path=self.path.name,
            ) from None
        self.read_bytes += len(data)
        return data


def _descriptor(package: _Package) -> dict[str, str]:
    """The descriptor's HSDS tables: resource name -> its file's path in the package."""
    data = package.read(DESCRIPTOR, MAX_DESCRIPTOR_BYTES)
    if data is None:
        raise _not_hsds(package.path, f"it has no {DESCRIPTOR}")
    try:
        descriptor = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LoadError(
            f"{DESCRIPTOR} is not UTF-8 JSON ({error}): truncated?",
            code="BAD_FORMAT",
            path=package.path.name,
        ) from None
    resources = descriptor.get("resources") if isinstance(descriptor, dict) else None
    if not isinstance(resources, list):
        raise _not_hsds(package.path, f"{DESCRIPTOR} lists no resources")
    paths: dict[str, str] = {}
    for resource in resources:
        if not isinstance(resource, dict) or resource.get("name") not in TABLES:
            continue
        member = resource.get("path")
        pure = PurePosixPath(member) if isinstance(member, str) else None
        if pure is None or pure.is_absolute() or ".." in pure.parts or pure.suffix != ".csv":
            raise LoadError(
                f"resource {resource['name']!r} has path {member!r}: a CSV file inside the "
                "package is expected",
                code="BAD_FORMAT",
                path=package.path.name,
            )
        paths[resource["name"]] = str(pure)
    if "service" not in paths and "organization" not in paths:
        raise _not_hsds(package.path, f"{DESCRIPTOR} names neither services nor organizations")
    return paths


@dataclass
class Tables:
    """The package's tables as rows of text (empty cells as ""), by resource name; each row
    labelled ``services.csv row 3`` (its line, the header being line 1)."""

    name: str
    rows: dict[str, list[Row]] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)

    def of(self, name: str) -> list[Row]:
        return self.rows.get(name, [])

    def label(self, row: Row) -> str:
        return self.labels[id(row)]


def _csv_rows(package: _Package, name: str, member: str, tables: Tables) -> None:
    data = package.read(member, MAX_PACKAGE_BYTES)
    if data is None:
        raise LoadError(
            f"{DESCRIPTOR} names {member}, which the package lacks",
            code="BAD_FORMAT",
            path=package.path.name,
        )
    try:
        text = data.decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
        header = reader.fieldnames or []
        if "id" not in header:
            raise LoadError(
                f"{member} has no id column (its header: {', '.join(header)[:200]})",
                code="BAD_FORMAT",
                path=package.path.name,
            )
        rows: list[Row] = []
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                raise LoadError(
                    f"{member} row {reader.line_num} has {len(row)} cells, the header "
                    f"{len(header)}: a truncated file?",
                    code="BAD_FORMAT",
                    path=package.path.name,
                )
            cells = {key: (value or "").strip() for key, value in row.items()}
            tables.labels[id(cells)] = f"{member} row {reader.line_num}"
            rows.append(cells)
    except (UnicodeDecodeError, csv.Error) as error:
        raise LoadError(
            f"{member} is not a UTF-8 CSV: {error}", code="BAD_FORMAT", path=package.path.name
        ) from None
    tables.rows[name] = rows


def read_tables(path: Path) -> Tables:
    """The HSDS tables of the package at ``path``; LoadError when it is not one."""
    package = _Package(path)
    try:
        tables = Tables(path.name)
        for name, member in _descriptor(package).items():
            _csv_rows(package, name, member, tables)
        return tables
    finally:
        package.close()


# --- from HSDS records to the loaders' records --------------------------------------------------


def _integer(text: str) -> str:
    """A Table Schema number that is a whole number ("12" or "12.0") as the loaders' text."""
    return text[:-2] if text.endswith(".0") else text


def _fees(text: str) -> dict[str, str]:
    """The export's ``fees_description`` ("Gratis (free)", "150.00 NOK; Fritidskortet
    accepted") as free, cost_nok and leisure_card_accepted."""
    if text.lower() in _FREE:
        return {"free": "true"}
    found = _COST.match(text)
    if found is None:
        raise v.FieldError(
            "fees_description", f"{text[:60]!r}: say 'Gratis' or the price as '150 NOK'"
        )
    return {
        "free": "false",
        "cost_nok": found.group(1).replace(",", "."),
        "leisure_card_accepted": "true" if found.group(2) else "false",
    }


def _registration(text: str) -> dict[str, str]:
    if text.startswith(_REGISTRATION):
        url = text.removeprefix(_REGISTRATION).removeprefix(":").strip()
        return {"registration_required": "true", "registration_url": url}
    return {"registration_required": "false"}


def _target_groups(text: str) -> str:
    if not text.startswith(_TARGETS):
        return ""
    groups = [g.strip() for g in text.removeprefix(_TARGETS).split(",")]
    return "|".join(g for g in groups if g in TargetGroup.__members__)


def _status(text: str) -> str:
    if not text:
        return ""
    if text not in STATUS:
        raise v.FieldError("status", f"{text!r} is not one of {', '.join(STATUS)}")
    return STATUS[text]


def plausible_date(text: str, what: str, field: str = "schedule") -> None:
    """Refuse a date before :data:`EARLIEST`: a zero timestamp (1970-01-01) or a mistyped
    year, not a session anyone can attend."""
    if text[:10] and text[:10] < EARLIEST.isoformat() and text[:4].isdigit():
        raise v.FieldError(
            field, f"{what} is {text!r}, before {EARLIEST}: a zero timestamp or a wrong year?"
        )


def _sessions(rows: list[Row], with_dates: bool) -> str:
    """Weekly schedules as the loaders' ``"TUE 18:00-20:00 2026-08-15..2026-12-20"`` items."""
    sessions = []
    for row in rows:
        if row.get("freq", "").upper() != "WEEKLY" or _integer(row.get("interval") or "1") != "1":
            raise v.FieldError(
                "schedule",
                f"schedule {row['id']}: only weekly schedules (freq WEEKLY, interval 1) can be "
                f"loaded, not freq {row.get('freq')!r} interval {row.get('interval')!r}",
            )
        days = [d.strip().upper() for d in row.get("byday", "").split(",") if d.strip()]
        unknown = [d for d in days if d not in DAYS]
        if not days or unknown:
            raise v.FieldError(
                "schedule", f"schedule {row['id']}: byday {row.get('byday')!r} names no weekday"
            )
        for name in ("valid_from", "valid_to"):
            plausible_date(row.get(name, ""), f"schedule {row['id']}: {name}")
        span = f"{row.get('opens_at', '')}-{row.get('closes_at', '')}"
        dates = f" {row.get('valid_from', '')}..{row.get('valid_to', '')}" if with_dates else ""
        if dates == " ..":
            dates = ""
        sessions += [f"{DAYS[d]} {span}{dates}" for d in days]
    return "|".join(sessions)


@dataclass
class Links:
    """The package's references, gathered once."""

    tables: Tables
    identifiers: dict[str, str] = field(default_factory=dict)  # organization id -> number
    addresses: dict[str, Row] = field(default_factory=dict)  # location id -> address
    places: dict[str, list[str]] = field(default_factory=dict)  # service id -> location ids
    services_at: Counter[str] = field(default_factory=Counter)  # location id -> services
    service_schedules: dict[str, list[Row]] = field(default_factory=dict)
    location_schedules: dict[str, list[Row]] = field(default_factory=dict)
    languages: dict[str, list[str]] = field(default_factory=dict)
    own_places: dict[str, Row] = field(default_factory=dict)  # service id -> its own location
    physical: set[str] = field(default_factory=set)  # the physical locations' ids

    @classmethod
    def of(cls, tables: Tables) -> Links:
        links = cls(tables)
        links.physical = {
            r["id"] for r in tables.of("location") if r.get("location_type", "") in PHYSICAL
        }
        for row in tables.of("organization_identifier"):
            scheme, kind = row.get("identifier_scheme", ""), row.get("identifier_type", "")
            if scheme == "NO-BRC" or kind.lower() == "organisasjonsnummer":
                links.identifiers[row.get("organization_id", "")] = row.get("identifier", "")
        for row in tables.of("address"):
            links.addresses.setdefault(row.get("location_id", ""), row)
        at_location: dict[str, tuple[str, str]] = {}
        for row in tables.of("service_at_location"):
            service, location = row.get("service_id", ""), row.get("location_id", "")
            at_location[row["id"]] = (service, location)
            links.places.setdefault(service, []).append(location)
            links.services_at[location] += 1
        for row in tables.of("schedule"):
            service, location = row.get("service_id", ""), row.get("location_id", "")
            if row.get("service_at_location_id") in at_location:
                service = service or at_location[row["service_at_location_id"]][0]
            if service:
                links.service_schedules.setdefault(service, []).append(row)
            elif location:
                links.location_schedules.setdefault(location, []).append(row)
        for row in tables.of("language"):
            note, code = row.get("note", ""), row.get("code", "")
            tag = note.removeprefix(_BCP47) if note.startswith(_BCP47) else code
            if tag:
                links.languages.setdefault(row.get("service_id", ""), []).append(tag)
        links._find_own_places()
        return links

    def venues_of(self, service: str) -> list[str]:
        """The physical locations a service is at, in the package's order: an activity has
        one venue, the first (the load warns of the others)."""
        return [p for p in self.places.get(service, []) if p in self.physical]

    def _find_own_places(self) -> None:
        """A location that is one service's own point, as the export writes it."""
        locations = {row["id"]: row for row in self.tables.of("location")}
        for service in self.tables.of("service"):
            places = self.places.get(service["id"], [])
            if len(places) != 1 or places[0] not in locations:
                continue
            place = locations[places[0]]
            if (
                self.services_at[place["id"]] == 1
                and place["id"] not in self.addresses
                and place["id"] not in self.location_schedules
                and not place.get("description")
                and place.get("name", "") in ("", service.get("name", ""))
                and place.get("organization_id", "") == _organiser_id(service)
            ):
                self.own_places[service["id"]] = place


def _organiser_id(service: Row) -> str:
    """The service's organization, "" for the export's stand-in for an unknown organiser."""
    found = service.get("organization_id", "")
    return "" if found == hsds_id(UNKNOWN_ORGANISER) else found


def _organisation_cells(row: Row, links: Links) -> dict[str, str]:
    return {
        "external_id": row["id"],
        "name": row.get("name", ""),
        "description": row.get("description", ""),
        "website": row.get("website", ""),
        "organisation_number": links.identifiers.get(row["id"], ""),
    }


def _owner(organization_id: str, known_numbers: dict[str, str], field_prefix: str) -> Row:
    """A reference to an organisation: by number when the directory already has it."""
    if not organization_id or organization_id == hsds_id(UNKNOWN_ORGANISER):
        return {}
    if organization_id in known_numbers:
        return {f"{field_prefix}_number": known_numbers[organization_id]}
    return {f"{field_prefix}_external_id": organization_id}


def _venue_cells(row: Row, links: Links, known: dict[str, str]) -> dict[str, str]:
    address = links.addresses.get(row["id"], {})
    country = address.get("country", "NO").upper()
    if country not in ("NO", "NOR", "NORWAY", "NORGE"):
        raise v.FieldError("country", f"{country!r}: only places in Norway can be loaded")
    windows = [
        w
        for w in links.location_schedules.get(row["id"], [])
        if w.get("description") == VOLUNTEER_WINDOW
    ]
    owner = _owner(row.get("organization_id", ""), known, "owner_organisation")
    return {
        "external_id": row["id"],
        "name": row.get("name", ""),
        "description": row.get("description", ""),
        "owner_type": (OwnerType.ORGANISATION if owner else OwnerType.MUNICIPALITY).value,
        "venue_type": VenueType.OTHER.value,
        "lat": row.get("latitude", ""),
        "lon": row.get("longitude", ""),
        "address": address.get("address_1", ""),
        "postal_code": address.get("postal_code", ""),
        "postal_place": address.get("city", ""),
        "availability": _sessions(windows, with_dates=False),
        **owner,
    }


def _activity_cells(row: Row, links: Links, known: dict[str, str]) -> dict[str, str]:
    cells = {
        "external_id": row["id"],
        "title": row.get("name", ""),
        "description": row.get("description", ""),
        "category": DEFAULT_CATEGORY.value,
        "url": row.get("url", ""),
        "status": _status(row.get("status", "")),
        "min_age": _integer(row.get("minimum_age", "")),
        "max_age": _integer(row.get("maximum_age", "")),
        "target_groups": _target_groups(row.get("eligibility_description", "")),
        "languages": "|".join(links.languages.get(row["id"], [])),
        "schedule": _sessions(links.service_schedules.get(row["id"], []), with_dates=True),
        **_registration(row.get("application_process", "")),
        **_owner(row.get("organization_id", ""), known, "organisation"),
    }
    fees = row.get("fees_description", "")
    if fees:
        cells |= _fees(fees)
    own = links.own_places.get(row["id"])
    if own is not None:
        cells |= {"lat": own.get("latitude", ""), "lon": own.get("longitude", "")}
    elif places := links.venues_of(row["id"]):
        cells["venue_external_id"] = places[0]
    return cells


def _parse_all(
    rows: list[Row], tables: Tables, parse: Callable[[Row], Any], file_name: str
) -> tuple[list[Any], Problems]:
    records = [Record(tables.label(row), row) for row in rows]
    by_label = {tables.label(row): row for row in rows}
    return parse_records(records, lambda record: parse(by_label[record.label]), file_name)


# --- the load -----------------------------------------------------------------------------------


def _known_numbers(
    conn: sa.Connection, rows: list[Row], links: Links, source: str
) -> dict[str, str]:
    """Organizations whose number the directory already holds under another key (from
    Brønnøysund or another load): the package's rows refer to that organisation rather than
    making a second one."""
    numbers = {r["id"]: links.identifiers[r["id"]] for r in rows if r["id"] in links.identifiers}
    if not numbers:
        return {}
    o = organisation.c
    held = {
        row.organisation_number: (row.source, row.external_id)
        for row in conn.execute(
            sa.select(o.organisation_number, o.source, o.external_id).where(
                o.organisation_number.in_(sorted(set(numbers.values())))
            )
        )
    }
    return {
        oid: number
        for oid, number in numbers.items()
        if number in held and held[number] != (source, oid)
    }


def _load_organisations(
    conn: sa.Connection, tables: Tables, links: Links, source: str, report: LoadReport
) -> dict[str, str]:
    file_name = tables.name
    rows = [r for r in tables.of("organization") if r["id"] != hsds_id(UNKNOWN_ORGANISER)]
    known = _known_numbers(conn, rows, links, source)
    fresh = [r for r in rows if r["id"] not in known]
    items: list[ParsedOrganisation]
    items, problems = _parse_all(
        fresh,
        tables,
        lambda row: parse_organisation(
            Record(tables.label(row), _organisation_cells(row, links)), source, source
        ),
        file_name,
    )
    check_duplicates(items, file_name, problems)
    problems.check()
    if items:
        counts = upsert(conn, organisation, [i.row for i in items])
        report.inserted += counts.inserted
        report.updated += counts.updated
        report.unchanged += counts.unchanged
    return known


def _load_venues(
    conn: sa.Connection,
    tables: Tables,
    links: Links,
    known: dict[str, str],
    source: str,
    report: LoadReport,
) -> None:
    file_name = tables.name
    own = {place["id"] for place in links.own_places.values()}
    rows = [r for r in tables.of("location") if r["id"] not in own and r["id"] in links.physical]
    skipped = len(tables.of("location")) - len(own) - len(rows)
    if skipped:
        report.warnings.append(f"{skipped} locations that are not physical were left out")
    items: list[ParsedVenue]
    items, problems = _parse_all(
        rows,
        tables,
        lambda row: parse_venue(
            Record(tables.label(row), _venue_cells(row, links, known)), source, source
        ),
        file_name,
    )
    check_duplicates(items, file_name, problems)
    resolve_organisations(conn, items, "owner", "owner_organisation_id", file_name, problems)
    join_municipalities(
        conn, items, [i.point for i in items], [i.point_field for i in items], file_name, problems
    )
    problems.check()
    if not items:
        return
    for item in items:
        item.row["geom"] = from_shape(Point(item.point), srid=STORAGE_SRID)
    counts = LoadReport("venues")
    write_venues(conn, items, counts)
    report.inserted += counts.inserted
    report.updated += counts.updated
    report.unchanged += counts.unchanged
    report.warnings += counts.warnings
    report.warnings.append(
        f"{len(items)} venues: HSDS does not say their owner or venue type: loaded as "
        f"{OwnerType.ORGANISATION} (when the location names its organisation) or "
        f"{OwnerType.MUNICIPALITY}, and {VenueType.OTHER}"
    )


def _load_activities(
    conn: sa.Connection,
    tables: Tables,
    links: Links,
    known: dict[str, str],
    source: str,
    report: LoadReport,
) -> None:
    file_name = tables.name
    rows = tables.of("service")
    items: list[ParsedActivity]
    items, problems = _parse_all(
        rows,
        tables,
        lambda row: parse_activity(
            Record(tables.label(row), _activity_cells(row, links, known)), source, source
        ),
        file_name,
    )
    check_duplicates(items, file_name, problems)
    resolve_organisations(conn, items, "organiser", "organisation_id", file_name, problems)
    place_at_venues(conn, items, file_name, problems)
    placed = [(i, i.point) for i in items if i.point is not None]  # not at an unknown venue
    join_municipalities(
        conn,
        [i for i, _ in placed],
        [point for _, point in placed],
        [i.point_field for i, _ in placed],
        file_name,
        problems,
    )
    problems.check()
    if not items:
        return
    for item in items:
        if item.venue is None and item.point is not None:
            item.row["geom"] = from_shape(Point(item.point), srid=STORAGE_SRID)
    counts = LoadReport("activities")
    write_activities(conn, items, counts)
    report.inserted += counts.inserted
    report.updated += counts.updated
    report.unchanged += counts.unchanged
    report.warnings += counts.warnings
    several = sum(1 for row in rows if len(links.venues_of(row["id"])) > 1)
    if several:
        report.warnings.append(
            f"{several} services are at several locations: each activity is at its first "
            "(an activity has one venue)"
        )
    report.warnings.append(
        f"{len(items)} activities: HSDS does not say their category: loaded as "
        f"{DEFAULT_CATEGORY} (set it with load activities or the API)"
    )


def load_hsds(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Load an HSDS package in the caller's transaction: organisations, then venues, then
    activities, each refused whole (every bad record named) before the next is read, and a
    refusal undoes the earlier steps (nothing is written). ``source`` defaults to the file's
    (or directory's) name."""
    tables = read_tables(path)
    links = Links.of(tables)
    row_source = v.required_text(source or path.name, "source", max_length=200)
    report = LoadReport("hsds")
    # A savepoint: a refusal in a later step undoes the earlier ones even when the caller
    # goes on with its transaction.
    with conn.begin_nested():
        known = _load_organisations(conn, tables, links, row_source, report)
        _load_venues(conn, tables, links, known, row_source, report)
        _load_activities(conn, tables, links, known, row_source, report)
    if progress:
        progress(report.total, report.total)
    return report
