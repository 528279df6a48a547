"""A venue's fields and weekly availability windows, as the loader and the write API check them."""

from __future__ import annotations

from datetime import time
from typing import Any

from geo import validation as v
from geo.records import Fields, text
from geo.vocab import ActivityCategory, OwnerType, PriceModel, VenueType

WINDOW_COLUMNS = ("weekday", "starts", "ends")
Window = tuple[int, time, time]


def venue_fields(record: Fields) -> dict[str, Any]:
    """The venue table's own columns (not source, point or owner) from a record; every wrong
    field is reported (:func:`geo.validation.each_field`)."""
    price = record.get("price_model")
    return v.each_field(
        {
            "name": lambda: v.required_text(record.get("name"), "name", max_length=v.MAX_NAME),
            "description": lambda: text(record, "description", v.MAX_DESCRIPTION),
            "owner_type": lambda: (
                v.vocabulary(OwnerType, record.get("owner_type"), "owner_type").value
            ),
            "venue_type": lambda: (
                v.vocabulary(VenueType, record.get("venue_type"), "venue_type").value
            ),
            "address": lambda: text(record, "address"),
            "postal_code": lambda: v.postal_code(record.get("postal_code")),
            "postal_place": lambda: text(record, "postal_place", 100),
            "capacity": lambda: v.optional_int(
                record.get("capacity"), "capacity", minimum=1, maximum=100_000
            ),
            "price_model": lambda: (
                v.vocabulary(PriceModel, price, "price_model").value if price else None
            ),
            "price_note": lambda: text(record, "price_note", 1000),
            "step_free": lambda: v.boolean(record.get("step_free"), "step_free"),
            "accessibility": lambda: v.tokens(record.get("accessibility"), "accessibility"),
            "amenities": lambda: v.tokens(record.get("amenities"), "amenities"),
            "suitable_categories": lambda: v.vocabulary_list(
                ActivityCategory, record.get("suitable_categories"), "suitable_categories"
            ),
            "booking_url": lambda: v.url(record.get("booking_url"), "booking_url"),
            "contact_name": lambda: text(record, "contact_name", 200),
            "contact_email": lambda: v.email(record.get("contact_email"), "contact_email"),
            "contact_phone": lambda: text(record, "contact_phone", 50),
            "last_verified": lambda: v.optional_date(record.get("last_verified"), "last_verified"),
        }
    )


def availability_windows(value: object, field: str = "availability") -> list[Window]:
    """``"MON 17:00-21:00|SAT 10:00-16:00"`` (or a list of such) as distinct windows."""
    return list(dict.fromkeys(v.weekly_window(w, field) for w in v.items(value, field)))
