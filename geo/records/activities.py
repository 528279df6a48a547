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
    """The activity table's own columns (not source, point, venue or organiser) from a record;
    every wrong field is reported (:func:`geo.validation.each_field`)."""
    status = record.get("status")
    values = v.each_field(
        {
            "ages": lambda: v.age_range(record.get("min_age"), record.get("max_age")),
            "costs": lambda: v.free_and_cost(
                v.boolean(record.get("free"), "free"), v.cost(record.get("cost_nok"))
            ),
            "title": lambda: v.required_text(record.get("title"), "title", max_length=v.MAX_NAME),
            "description": lambda: text(record, "description", v.MAX_DESCRIPTION),
            "category": lambda: (
                v.vocabulary(ActivityCategory, record.get("category"), "category").value
            ),
            "target_groups": lambda: v.vocabulary_list(
                TargetGroup, record.get("target_groups"), "target_groups"
            ),
            "languages": lambda: v.languages(record.get("languages")),
            "leisure_card_accepted": lambda: flag(record, "leisure_card_accepted"),
            "registration_required": lambda: flag(record, "registration_required"),
            "pauses_in_school_holidays": lambda: flag(record, "pauses_in_school_holidays"),
            "registration_url": lambda: v.url(record.get("registration_url"), "registration_url"),
            "status": lambda: (
                (
                    v.vocabulary(ActivityStatus, status, "status")
                    if status
                    else ActivityStatus.ACTIVE
                ).value
            ),
            "url": lambda: v.url(record.get("url"), "url"),
            "contact_name": lambda: text(record, "contact_name", 200),
            "contact_email": lambda: v.email(record.get("contact_email"), "contact_email"),
            "contact_phone": lambda: text(record, "contact_phone", 50),
        }
    )
    (values["min_age"], values["max_age"]) = values.pop("ages")
    (values["free"], values["cost_nok"]) = values.pop("costs")
    return values


def schedule_sessions(value: object, field: str = "schedule") -> list[Session]:
    """``"TUE 18:00-20:00 2026-08-15..2026-12-20|THU 17:00-19:00"`` as distinct sessions."""
    return list(dict.fromkeys(v.session(s, field) for s in v.items(value, field)))
