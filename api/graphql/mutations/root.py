"""The Mutation root: every write needs an API key (``Authorization: Bearer <key>``)."""

from __future__ import annotations

import strawberry

from api.graphql.mutations.access_reports import (
    VenueAccessReportPayload,
    resolve_report_venue_access,
)
from api.graphql.mutations.activities import (
    ActivityPayload,
    resolve_archive_activity,
    resolve_create_activity,
    resolve_restore_activity,
    resolve_update_activity,
)
from api.graphql.mutations.calendars import CalendarImportPayload, resolve_import_calendar
from api.graphql.mutations.councils import (
    CouncilPayload,
    resolve_archive_council,
    resolve_create_council,
    resolve_restore_council,
    resolve_update_council,
)
from api.graphql.mutations.problem_reports import (
    ReportProblemPayload,
    ResolveProblemReportPayload,
    resolve_report_problem,
    resolve_resolve_problem_report,
)
from api.graphql.mutations.translations import (
    TranslationPayload,
    resolve_remove_translation,
    resolve_set_translation,
)
from api.graphql.mutations.venues import (
    VenueImportPayload,
    VenuePayload,
    resolve_archive_venue,
    resolve_create_venue,
    resolve_import_venues,
    resolve_restore_venue,
    resolve_update_venue,
)
from api.graphql.mutations.verification import VerifyEntriesPayload, resolve_verify_entries
from api.graphql.mutations.webhooks import (
    CreateWebhookSubscriptionPayload,
    WebhookSubscriptionPayload,
    resolve_create_webhook_subscription,
    resolve_delete_webhook_subscription,
    resolve_resume_webhook_subscription,
)

_KEY = (
    " Needs an API key (UNAUTHENTICATED without one); a write outside the key's scope is "
    "FORBIDDEN and changes nothing."
)
_VERSION = " At the version read: a stale one is a CONFLICT (`currentVersion`), nothing changed."


@strawberry.type(description="Writes, each one transaction with an audit row." + _KEY)
class Mutation:
    create_venue: VenuePayload = strawberry.field(
        resolver=resolve_create_venue,
        description="A new venue (municipality editors: in their municipality)." + _KEY,
    )
    update_venue: VenuePayload = strawberry.field(
        resolver=resolve_update_venue, description="Change a venue." + _VERSION + _KEY
    )
    archive_venue: VenuePayload = strawberry.field(
        resolver=resolve_archive_venue,
        description="Archive a venue (a tombstone; never deleted)." + _VERSION + _KEY,
    )
    restore_venue: VenuePayload = strawberry.field(
        resolver=resolve_restore_venue, description="Restore an archived venue." + _VERSION
    )
    import_venues: VenueImportPayload = strawberry.field(
        resolver=resolve_import_venues,
        description=(
            "Upload a municipality's venues (CSV or GeoJSON, the columns of `hverdag load "
            "venues`), upserted by (source, external_id). All or nothing: one bad row and "
            "nothing is written; the error's `problems` list every bad row (row, field, "
            "reason)." + _KEY
        ),
    )
    create_activity: ActivityPayload = strawberry.field(
        resolver=resolve_create_activity,
        description="A new activity (organisation editors: their organisation's)." + _KEY,
    )
    update_activity: ActivityPayload = strawberry.field(
        resolver=resolve_update_activity, description="Change an activity." + _VERSION + _KEY
    )
    archive_activity: ActivityPayload = strawberry.field(
        resolver=resolve_archive_activity, description="Archive an activity." + _VERSION
    )
    restore_activity: ActivityPayload = strawberry.field(
        resolver=resolve_restore_activity, description="Restore an activity." + _VERSION
    )
    import_calendar: CalendarImportPayload = strawberry.field(
        resolver=resolve_import_calendar,
        description=(
            "Load an organisation's iCalendar feed (.ics) as its activities, like `hverdag load "
            "ical`: events upserted by (source, UID), those gone from the feed archived, a "
            "re-load of the same feed changes nothing. All or nothing: one bad event and "
            "nothing is written; the error's `problems` list every bad event (record: its UID "
            "and SUMMARY, field: the property, reason)." + _KEY
        ),
    )
    create_council: CouncilPayload = strawberry.field(
        resolver=resolve_create_council,
        description="A new immigrant council (municipality editors: their own)." + _KEY,
    )
    update_council: CouncilPayload = strawberry.field(
        resolver=resolve_update_council, description="Change a council." + _VERSION + _KEY
    )
    archive_council: CouncilPayload = strawberry.field(
        resolver=resolve_archive_council, description="Archive a council." + _VERSION
    )
    restore_council: CouncilPayload = strawberry.field(
        resolver=resolve_restore_council, description="Restore a council." + _VERSION
    )
    set_translation: TranslationPayload = strawberry.field(
        resolver=resolve_set_translation,
        description=(
            "Add or replace one text of an activity, venue or area initiative in one language "
            "(whoever may edit the entry). The translation records the entry's version and "
            "text it translates: editing that text later marks it outdated." + _VERSION + _KEY
        ),
    )
    remove_translation: TranslationPayload = strawberry.field(
        resolver=resolve_remove_translation,
        description="Remove one translation." + _VERSION + _KEY,
    )
    report_venue_access: VenueAccessReportPayload = strawberry.field(
        resolver=resolve_report_venue_access,
        description=(
            "Report whether your organisation got to use a venue (organisation editors)." + _KEY
        ),
    )
    verify_entries: VerifyEntriesPayload = strawberry.field(
        resolver=resolve_verify_entries,
        description=(
            "Confirm entries true as they stand (one, or a batch of your own): their "
            "`lastVerifiedAt` moves to now and `stale` clears; their content and version stay. "
            "All or nothing: an unknown, archived or out-of-scope entry, or one that changed "
            "since the version given, and none is verified." + _KEY
        ),
    )
    report_problem: ReportProblemPayload = strawberry.field(
        resolver=resolve_report_problem,
        description=(
            "Tell the entry's editors something is wrong with it. No key needed; limited per "
            "address (RATE_LIMITED, HTTP 429 with Retry-After). Your address is not stored."
        ),
    )
    resolve_problem_report: ResolveProblemReportPayload = strawberry.field(
        resolver=resolve_resolve_problem_report,
        description=(
            "Close an open problem report with its outcome (the entry's editors, admins); "
            "CONFIRMED_CLOSED with `archiveEntry` archives the entry in the same transaction."
            + _KEY
        ),
    )
    create_webhook_subscription: CreateWebhookSubscriptionPayload = strawberry.field(
        resolver=resolve_create_webhook_subscription,
        description=(
            "Be told of every change your filter matches: a signed POST to your HTTPS URL "
            "(docs/webhooks.md). The secret is in this answer only." + _KEY
        ),
    )
    resume_webhook_subscription: WebhookSubscriptionPayload = strawberry.field(
        resolver=resolve_resume_webhook_subscription,
        description="Deliver again to a paused subscription, its kept changes first." + _KEY,
    )
    delete_webhook_subscription: WebhookSubscriptionPayload = strawberry.field(
        resolver=resolve_delete_webhook_subscription,
        description="Stop a subscription for good; its pending deliveries are dropped." + _KEY,
    )
