"""A venue-access report's fields, as the loader and `reportVenueAccess` check them."""

from __future__ import annotations

from datetime import date
from typing import Any

from geo import validation as v
from geo.records import Fields
from geo.vocab import AccessBarrier, AccessOutcome

MAX_NOTE = 2000


def report_fields(record: Fields, latest: date, default_date: date | None = None) -> dict[str, Any]:
    """Outcome, suitability (1-5), barriers, note and date (not later than ``latest``; when
    missing, ``default_date`` or an error)."""
    reported_on = v.optional_date(record.get("reported_on"), "reported_on") or default_date
    if reported_on is None:
        raise v.FieldError("reported_on", "is required (YYYY-MM-DD)")
    if reported_on > latest:
        raise v.FieldError("reported_on", f"{reported_on} is in the future")
    return {
        "reported_on": reported_on,
        "outcome": v.vocabulary(AccessOutcome, record.get("outcome"), "outcome").value,
        "suitability": v.optional_int(
            record.get("suitability"), "suitability", minimum=1, maximum=5
        ),
        "barriers": v.vocabulary_list(AccessBarrier, record.get("barriers"), "barriers"),
        "note": v.optional_text(record.get("note"), "note", max_length=MAX_NOTE),
    }
