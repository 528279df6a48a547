"""Organisations from Brønnøysund's Enhetsregisteret JSON, or from a CSV
(loaders/organisations_csv.py; a file ending in ``.csv``).

Accepts the API's ``/enheter`` response (``{"_embedded": {"enheter": [...]}}``), the bulk
download (a JSON array of the same objects), or one ``/enheter/{orgnr}`` object. Per unit:
``organisasjonsnummer`` (mod-11 checked), ``navn``, ``registrertIFrivillighetsregisteret``,
``forretningsadresse.kommunenummer`` (else ``postadresse``), ``hjemmeside``, and
``naeringskode1``/``organisasjonsform`` for the kind. Keyed by the organisation number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from geo import validation as v
from geo.tables import municipality, organisation
from geo.upsert import upsert
from geo.vocab import OrganisationKind
from loaders.fields import FieldMap
from loaders.organisations_csv import load_organisation_csv
from loaders.report import LoadError, LoadReport, Problems

SOURCE = "brreg"
# NACE (næringskode) prefixes that say what kind of organisation a unit is.
_KIND_BY_NACE = (
    ("93.1", OrganisationKind.SPORTS_CLUB),
    ("94.91", OrganisationKind.FAITH_COMMUNITY),
    ("88.9", OrganisationKind.HUMANITARIAN),
    ("84.", OrganisationKind.PUBLIC_BODY),
)


def _units(path: Path) -> list[dict[str, Any]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LoadError(f"not UTF-8 JSON: {error}", code="BAD_FORMAT", path=path.name) from None
    if isinstance(document, dict) and "_embedded" in document:
        document = document["_embedded"].get("enheter", [])
    elif isinstance(document, dict) and "organisasjonsnummer" in document:
        document = [document]
    if not isinstance(document, list) or not all(isinstance(u, dict) for u in document):
        raise LoadError(
            "expected Enhetsregisteret units (an /enheter response or a list)",
            code="BAD_FORMAT",
            path=path.name,
        )
    return document


def _kind(unit: dict[str, Any], name: str) -> str:
    if "frivilligsentral" in name.lower():
        return OrganisationKind.VOLUNTEER_CENTRE.value
    if (unit.get("organisasjonsform") or {}).get("kode") in {"KOMM", "FYLK", "STAT", "ORGL"}:
        return OrganisationKind.PUBLIC_BODY.value
    nace = (unit.get("naeringskode1") or {}).get("kode", "")
    return next(
        (k.value for prefix, k in _KIND_BY_NACE if nace.startswith(prefix)),
        OrganisationKind.OTHER.value,
    )


def _parse(unit: dict[str, Any]) -> dict[str, Any]:
    number = v.organisation_number(unit.get("organisasjonsnummer", ""), "organisasjonsnummer")
    name = v.required_text(unit.get("navn"), "navn")
    address = unit.get("forretningsadresse") or unit.get("postadresse") or {}
    municipality_no = address.get("kommunenummer")
    website = v.optional_text(unit.get("hjemmeside"), "hjemmeside", max_length=500)
    if website and not website.startswith(("http://", "https://")):
        website = f"https://{website}"
    return {
        "name": name,
        "organisation_number": number,
        "kind": _kind(unit, name),
        "in_voluntary_register": bool(unit.get("registrertIFrivillighetsregisteret")),
        "municipality_number": (
            v.municipality_number(municipality_no, "kommunenummer") if municipality_no else None
        ),
        "website": website,
        "source": SOURCE,
        "external_id": number,
    }


def _parse_all(units: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    problems = Problems(path.name)
    for index, unit in enumerate(units, start=1):
        record = f"unit {index} ({unit.get('organisasjonsnummer', '?')})"
        try:
            row = _parse(unit)
        except v.FieldError as error:
            problems.add_fields(error, record)
            continue
        if row["external_id"] in seen:
            problems.add(
                LoadError(
                    f"the same organisation number as unit {seen[row['external_id']]}",
                    record=record,
                    field="organisasjonsnummer",
                    path=path.name,
                    code="DUPLICATE",
                )
            )
            continue
        seen[row["external_id"]] = index
        rows.append(row)
    problems.check()
    return rows


def _drop_unknown_municipalities(
    conn: sa.Connection, rows: list[dict[str, Any]], report: LoadReport
) -> None:
    """A number from another numbering than the loaded boundaries is kept out, with a warning."""
    known = set(conn.execute(sa.select(municipality.c.number)).scalars())
    for row in rows:
        number = row["municipality_number"]
        if number and number not in known:
            report.warnings.append(
                f"{row['organisation_number']} {row['name']}: municipality "
                f"{number} is not among the loaded municipalities; left empty"
            )
            row["municipality_number"] = None


def _check_other_sources(conn: sa.Connection, rows: list[dict[str, Any]], path: Path) -> None:
    numbers = [r["organisation_number"] for r in rows]
    clash = conn.execute(
        sa.select(organisation.c.organisation_number, organisation.c.source).where(
            organisation.c.organisation_number.in_(numbers), organisation.c.source != SOURCE
        )
    ).first()
    if clash:
        raise LoadError(
            f"already in the directory from source {clash.source!r}",
            record=f"organisation {clash.organisation_number}",
            field="organisasjonsnummer",
            path=path.name,
            code="DUPLICATE",
        )


def load_organisations(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    fields: FieldMap | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """``source`` is ignored for JSON: units are keyed by organisation number under source
    "brreg". A ``.csv`` file is read by :func:`load_organisation_csv`, with ``source`` and
    ``fields`` (Brønnøysund's JSON has its own fixed fields)."""
    if path.suffix.lower() == ".csv":
        return load_organisation_csv(conn, path, source=source, fields=fields, progress=progress)
    if fields:
        raise LoadError(
            "field options are for a CSV file: Brønnøysund's JSON has fixed fields",
            code="UNKNOWN_COLUMN",
            path=path.name,
        )
    rows = _parse_all(_units(path), path)
    report = LoadReport("organisations")
    if not rows:
        return report
    _drop_unknown_municipalities(conn, rows, report)
    _check_other_sources(conn, rows, path)
    counts = upsert(conn, organisation, rows)
    report.inserted, report.updated, report.unchanged = (
        counts.inserted,
        counts.updated,
        counts.unchanged,
    )
    if progress:
        progress(len(rows), len(rows))
    return report
