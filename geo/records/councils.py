"""An immigrant council's fields, as the loader and the write API check them: a record keyed by
the council table's columns (the loader names data/innvandrerrad.csv's columns so)."""

from __future__ import annotations

from typing import Any

from geo import validation as v
from geo.records import Fields
from geo.vocab import CouncilKind, CouncilLevel, CouncilStatus


def _text(record: Fields, name: str) -> str:
    value = record.get(name)
    return str(value) if value else ""


def council_fields(record: Fields) -> dict[str, Any]:
    """The council table's columns but source and external id, from a record keyed by those
    columns; its place is checked to fit its level (a municipal council needs its
    municipality, a county council its county). A council with a municipality is in that
    municipality's county: another county is an error, none is that one. Every wrong field is
    reported (:func:`geo.validation.each_field`)."""
    values = v.each_field(
        {
            "place": lambda: _place(record),
            "name": lambda: v.required_text(record.get("name"), "name"),
            "kind": lambda: v.vocabulary(CouncilKind, record.get("kind"), "kind").value,
            "status": lambda: v.vocabulary(CouncilStatus, record.get("status"), "status").value,
            "established": lambda: v.optional_int(
                record.get("established"), "established", minimum=1900, maximum=2100
            ),
            "members": lambda: v.optional_int(
                record.get("members"), "members", minimum=1, maximum=500
            ),
            "website": lambda: v.optional_text(record.get("website"), "website", max_length=500),
            "note": lambda: v.optional_text(record.get("note"), "note"),
        }
    )
    level, number, county_no = values.pop("place")
    return {
        "name": values["name"],
        "kind": values["kind"],
        "level": level.value,
        "municipality_number": number,
        "county_number": county_no,
        **{k: values[k] for k in ("status", "established", "members", "website", "note")},
    }


def _place(record: Fields) -> tuple[CouncilLevel, str | None, str | None]:
    """The council's level, municipality and county, checked against each other."""
    level = v.vocabulary(CouncilLevel, record.get("level"), "level")
    number_text = _text(record, "municipality_number")
    county_text = _text(record, "county_number")
    number = v.municipality_number(number_text, "municipality_number") if number_text else None
    county_no = v.county_number(county_text, "county_number") if county_text else None
    if level is CouncilLevel.MUNICIPALITY and number is None:
        raise v.FieldError("municipality_number", "a municipal council needs its municipality")
    if number and county_no and county_no != number[:2]:
        raise v.FieldError(
            "county_number",
            f"municipality {number} is in county {number[:2]}, not {county_no} (leave the county "
            "out: it follows the municipality)",
        )
    county_no = county_no or (number[:2] if number else None)
    if level is CouncilLevel.COUNTY and county_no is None:
        raise v.FieldError("county_number", "a county council needs its county")
    return level, number, county_no


def council_key(row: dict[str, Any]) -> str:
    """The external id a council is upserted by: its level, place and name."""
    return (
        f"{row['level']}:{row['municipality_number'] or row['county_number'] or '-'}:{row['name']}"
    )
