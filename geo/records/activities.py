"""An activity's fields and weekly sessions, as the loader and the write API check them."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from geo import validation as v
from geo.records import Fields, flag, text
from geo.vocab import ActivityCategory, ActivityStatus, TargetGroup

SESSION_COLUMNS = ("weekday", "starts", "ends", "valid_from", "valid_to")
Session = tuple[int, time, time, date | None, date | None]


def activity_fields(record: Fields) -> dict[str, Any]:
    """The activity table's own columns (not source, point, venue or organiser) from a record."""
    min_age, max_age = v.age_range(record.get("min_age"), record.get("max_age"))
    free, cost = v.free_and_cost(
        v.boolean(record.get("free"), "free"), v.cost(record.get("cost_nok"))
    )
    status = record.get("status")
    return {
        "title": v.required_text(record.get("title"), "title", max_length=v.MAX_NAME),
        "description": text(record, "description", v.MAX_DESCRIPTION),
        "category": v.vocabulary(ActivityCategory, record.get("category"), "category").value,
        "target_groups": v.vocabulary_list(
            TargetGroup, record.get("target_groups"), "target_groups"
        ),
        "min_age": min_age,
        "max_age": max_age,
        "languages": v.languages(record.get("languages")),
        "free": free,
        "cost_nok": cost,
        "leisure_card_accepted": flag(record, "leisure_card_accepted"),
        "registration_required": flag(record, "registration_required"),
        "registration_url": v.url(record.get("registration_url"), "registration_url"),
        "status": (
            v.vocabulary(ActivityStatus, status, "status") if status else ActivityStatus.ACTIVE
        ).value,
        "url": v.url(record.get("url"), "url"),
        "contact_name": text(record, "contact_name", 200),
        "contact_email": v.email(record.get("contact_email"), "contact_email"),
        "contact_phone": text(record, "contact_phone", 50),
    }


def schedule_sessions(value: object, field: str = "schedule") -> list[Session]:
    """``"TUE 18:00-20:00 2026-08-15..2026-12-20|THU 17:00-19:00"`` as distinct sessions."""
    return list(dict.fromkeys(v.session(s, field) for s in v.items(value, field)))
