"""The GraphQL schema: the Query root and the extensions every request runs through."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from api.errors import ErrorCode
from api.graphql.compiled import CompiledQueries
from api.graphql.errors import ErrorCodes, limit_error, tag_rule, with_codes
from api.graphql.limits import cost_limit_rule, tolerant_rule
from api.graphql.mutations.audit import AuditEntry, resolve_audit_log
from api.graphql.mutations.root import Mutation
from api.graphql.relay import Node, NodeKind, resolve_node
from api.graphql.types.activity import ACTIVITY_NODE, Activity
from api.graphql.types.changes import ChangeConnection, resolve_changes
from api.graphql.types.council import COUNCIL_NODE, ImmigrantCouncil
from api.graphql.types.county import COUNTY_NODE, County, resolve_counties, resolve_county
from api.graphql.types.coverage import CoverageReport, resolve_coverage
from api.graphql.types.data_quality import DataQualityGroup, resolve_data_quality
from api.graphql.types.initiative import (
    INITIATIVE_NODE,
    AreaInitiative,
    resolve_area_initiative,
    resolve_area_initiatives,
)
from api.graphql.types.labels import VocabularyLabels, resolve_vocabularies
from api.graphql.types.listing import DirectoryConnection, resolve_activities, resolve_venues
from api.graphql.types.location import WhereAmIResult, resolve_where_am_i, where_am_i_answer
from api.graphql.types.municipality import (
    MUNICIPALITY_NODE,
    Municipality,
    resolve_municipalities,
    resolve_municipality,
)
from api.graphql.types.nearby import NearbyConnection, nearby_connection, resolve_nearby
from api.graphql.types.organisation import ORGANISATION_NODE, Organisation
from api.graphql.types.places import Place, resolve_places
from api.graphql.types.problem_report import ProblemReportConnection, resolve_problem_reports
from api.graphql.types.survey import (
    CouncilCoverageGroup,
    VenueAccessGroup,
    resolve_council_coverage,
    resolve_council_coverage_total,
    resolve_venue_access,
    resolve_venue_access_total,
)
from api.graphql.types.translation import Lang, localize
from api.graphql.types.venue import VENUE_NODE, Venue
from api.graphql.types.webhook import WebhookSubscription, resolve_webhook_subscriptions
from geo.settings import Settings
from graphql import GraphQLError, NoSchemaIntrospectionCustomRule, specified_rules

if TYPE_CHECKING:
    from api.graphql.context import Context

#: The limits below are settings (geo.settings, HVERDAG_MAX_*; docs/reliability.md); these are
#: their defaults, for code and tests that build the schema without settings.
#: Deepest selection allowed; the contract's deepest operation needs 5. (Depth alone does not
#: bound the work of nested lists: MAX_OBJECTS does.)
MAX_DEPTH = Settings.model_fields["max_query_depth"].default
#: Most aliases in one document: enough to compare a dozen places in one request.
MAX_ALIASES = Settings.model_fields["max_aliases"].default
#: Most objects an operation may be estimated to return (api.graphql.limits): all 356 municipalities
#: with their boundaries fit; lists nested in lists of lists do not.
MAX_OBJECTS = Settings.model_fields["max_query_cost"].default
#: Most tokens in one document, checked while parsing (before any other work).
MAX_TOKENS = Settings.model_fields["max_tokens"].default
#: Entries of the process-wide parse and validation caches (distinct query texts).
CACHE_SIZE = Settings.model_fields["query_cache_size"].default

NODE_KINDS: tuple[NodeKind, ...] = (
    MUNICIPALITY_NODE,
    COUNTY_NODE,
    ACTIVITY_NODE,
    VENUE_NODE,
    ORGANISATION_NODE,
    COUNCIL_NODE,
    INITIATIVE_NODE,
)


@strawberry.type(
    description=(
        "Read queries: where a point is, what is near it, the directory, municipalities and "
        "counties, the venue-access survey and council coverage."
    )
)
class Query:
    where_am_i: WhereAmIResult = strawberry.field(
        resolver=resolve_where_am_i,
        description="The municipality and county at a point (null for each at sea or abroad).",
    )
    municipality: Municipality | None = strawberry.field(
        resolver=resolve_municipality,
        description="One municipality by number; null when none has that number. A number "
        "that is not four digits is a BAD_USER_INPUT.",
    )
    municipalities = strawberry.field(
        resolver=resolve_municipalities,
        description="Municipalities ordered by number, a page at a time.",
    )
    counties: list[County] = strawberry.field(
        resolver=resolve_counties, description="Every county, ordered by number."
    )
    county: County | None = strawberry.field(
        resolver=resolve_county, description="One county by number; null when none has it."
    )
    nearby: NearbyConnection = strawberry.field(
        resolver=resolve_nearby,
        description=(
            "Activities, venues and councils nearest a point within a radius (straight "
            "line), nearest first, each edge with distanceMeters."
        ),
    )
    activities: DirectoryConnection[Activity] = strawberry.field(
        resolver=resolve_activities,
        description=(
            "Active activities matching the filter: nearest first with `near`, else by title."
        ),
    )
    venues: DirectoryConnection[Venue] = strawberry.field(
        resolver=resolve_venues,
        description=("Venues matching the filter: nearest first with `near`, else by name."),
    )
    changes: ChangeConnection = strawberry.field(
        resolver=resolve_changes,
        description=(
            "Every directory row created, updated or archived since a time, in order; "
            "archived rows as tombstones. Ask again from a minute before your last "
            "updatedAt and keep the highest version per id."
        ),
    )
    places: list[Place] = strawberry.field(
        resolver=resolve_places,
        description=(
            "Places by name for a search box: municipalities, city districts and sub-districts, "
            "and area initiatives, best match first (a name that starts with the text, then one "
            "that contains it, then the most similar), each with a point inside it and its "
            "bounding box."
        ),
    )
    area_initiatives: list[AreaInitiative] = strawberry.field(
        resolver=resolve_area_initiatives,
        description="The area initiatives (områdesatsinger), by name.",
    )
    area_initiative: AreaInitiative | None = strawberry.field(
        resolver=resolve_area_initiative,
        description="One area initiative by global id or slug; null when unknown.",
    )
    coverage: CoverageReport = strawberry.field(
        resolver=resolve_coverage,
        description=(
            "Who lives within reach of an activity or venue in an area, and the gaps: the "
            "total and covered population of the area's population units and the uncovered "
            "units, largest first. Straight-line distance (not along roads or transit). A unit "
            "is in the area when its interior point is; it is covered when a target lies "
            "within withinMeters of any part of it (a target inside covers it). A unit kind "
            "with no units in the area gives an empty report with a note, not an error."
        ),
    )
    venue_access: list[VenueAccessGroup] = strawberry.field(
        resolver=resolve_venue_access,
        description=(
            "The venue-access survey (KUD): per group, venues, free, reduced, available in "
            "the evening or at the weekend, state-owned, per capita, and what volunteers "
            "reported (outcomes, share granted, mean suitability, most named barriers). "
            "Every group of the filtered area, zeros included, in key order."
        ),
    )
    venue_access_total: VenueAccessGroup = strawberry.field(
        resolver=resolve_venue_access_total,
        description=(
            "The venue-access survey over everything the filter lets through, as one group "
            '(key "ALL"): its counts are the sums of any grouping\'s.'
        ),
    )
    council_coverage: list[CouncilCoverageGroup] = strawberry.field(
        resolver=resolve_council_coverage,
        description=(
            "Immigrant-council coverage (IMDi): per group, municipalities with an active "
            "council or a body like one, without, the share, and the population and "
            "immigrants living where there is one. List the gaps with "
            "`municipalities(filter: {hasCouncil: false})`."
        ),
    )
    council_coverage_total: CouncilCoverageGroup = strawberry.field(
        resolver=resolve_council_coverage_total,
        description='Council coverage over every municipality (key "ALL").',
    )

    data_quality: list[DataQualityGroup] = strawberry.field(
        resolver=resolve_data_quality,
        description=(
            "Each owner's entries and what needs work: verified within the window, stale, open "
            "problem reports, missing schedule, contact and languages. Editors see their own "
            "group (MUNICIPALITY or ORGANISATION), analysts and admins every group. Needs a key."
        ),
    )
    webhook_subscriptions: list[WebhookSubscription] = strawberry.field(
        resolver=resolve_webhook_subscriptions,
        description=(
            "Your key's webhook subscriptions (an admin's: all), with their delivery state: "
            "paused, failures running, last error, pending and delivered counts. Needs a key."
        ),
    )
    problem_reports: ProblemReportConnection = strawberry.field(
        resolver=resolve_problem_reports,
        description=(
            "Problem reports the public sent about the entries your key answers for (a "
            "municipality's venues and councils, an organisation's activities; analysts and "
            "admins: all), oldest first. Needs a key."
        ),
    )
    vocabularies: VocabularyLabels = strawberry.field(
        resolver=resolve_vocabularies,
        description=(
            "Display labels of every vocabulary the API exposes (categories, target groups, "
            "venue and owner types, …) in the reader's language: the shipped language they "
            "read best, else Norwegian bokmål. Also static: /labels/{lang}.json."
        ),
    )

    audit_log: list[AuditEntry] = strawberry.field(
        resolver=resolve_audit_log,
        description=(
            "Every write of one row, oldest first (ADMIN keys only: UNAUTHENTICATED without a "
            "key, FORBIDDEN with another)."
        ),
    )

    @strawberry.field(description="Any object with a global id; null when it no longer exists.")
    async def node(
        self,
        info: strawberry.Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")],
        lang: Lang = None,
    ) -> Node | None:
        info.context.reading_order(lang)  # checked before any read
        found = await resolve_node(info.context, id, NODE_KINDS)
        await localize(info.context, [found], lang)
        return found


class HverdagSchema(strawberry.Schema):
    #: The validation rules added to graphql-core's (limits and cost), for api.graphql.compiled.
    added_rules: tuple[Any, ...] = ()
    #: Set by build_schema: the largest document (bytes) and the longest run (seconds).
    max_document_bytes: int = Settings.model_fields["max_document_bytes"].default
    request_timeout_s: float = Settings.model_fields["request_timeout_s"].default

    async def execute(  # strawberry's signature
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """strawberry's execute within the size and time limits, with a last check that every
        error has a code: an error raised by an extension's parse or validate hook (a syntax
        error from the parser cache, say) ends the operation before :class:`ErrorCodes` sees
        the result."""
        size = len(query.encode("utf-8", "replace")) if query is not None else 0
        if size > self.max_document_bytes:
            return limit_error(
                ErrorCode.QUERY_TOO_COMPLEX,
                (
                    f"The document is {size:,} bytes; the limit is {self.max_document_bytes:,}. "
                    "Pass large values (a file's text) as variables, or a file as a multipart "
                    "upload, not inline in the document"
                ),
                context_value,
                limit=self.max_document_bytes,
            )
        try:
            async with asyncio.timeout(self.request_timeout_s):
                result = await super().execute(
                    query,
                    variable_values,
                    context_value,
                    root_value,
                    operation_name,
                    allowed_operation_types,
                    operation_extensions,
                )
        except TimeoutError:
            return limit_error(
                ErrorCode.TIMEOUT,
                (
                    f"The operation took longer than {self.request_timeout_s:g} s and was "
                    "cancelled; ask for less, or try again later"
                ),
                context_value,
                limit=self.request_timeout_s,
            )
        if result.errors:
            result.errors = with_codes(result.errors, context_value)
        return result

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Leave logging to :class:`api.graphql.errors.ErrorCodes`, which logs the unexpected errors
        with their request id; strawberry's default logs every client error with a traceback."""


def _validation_rules(settings: Settings) -> list[Any]:
    # Built once per schema: the validation cache keys on the rule classes, so per-request
    # rule classes (what the limiters make when constructed per request) would never hit.
    limits = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    rules = [
        *(tag_rule(tolerant_rule(rule), ErrorCode.QUERY_TOO_COMPLEX) for rule in limits),
        cost_limit_rule(settings.max_query_cost, settings.max_page_size),
    ]
    if not settings.graphql_introspection:
        rules.append(tag_rule(NoSchemaIntrospectionCustomRule, ErrorCode.FORBIDDEN))
    return rules


def build_schema(
    settings: Settings | None = None, extra_extensions: Sequence[Callable[[], SchemaExtension]] = ()
) -> HverdagSchema:
    """The schema with the limits of ``settings`` (the defaults when not given);
    ``extra_extensions`` run outermost (the app's metrics, say)."""
    settings = settings if settings is not None else Settings.model_construct()
    rules = _validation_rules(settings)
    cache_size = settings.query_cache_size
    extensions: list[Callable[[], SchemaExtension]] = [
        *extra_extensions,
        ErrorCodes,
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(rules),
        # Their LRU caches live in strawberry's module for the whole process, keyed by size.
        lambda: ParserCache(maxsize=cache_size),
        lambda: ValidationCache(maxsize=cache_size),
    ]
    schema = HverdagSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        types=[Activity, Venue, Organisation, ImmigrantCouncil, AreaInitiative],
    )
    schema.added_rules = tuple(rules)
    schema.max_document_bytes = settings.max_document_bytes
    schema.request_timeout_s = settings.request_timeout_s
    return schema


def compiled_queries(schema: HverdagSchema, settings: Settings | None = None) -> CompiledQueries:
    """The compiled path (api.graphql.compiled) for ``schema``, within the same limits: its
    validation rules, tokens, document size and time."""
    settings = settings if settings is not None else Settings.model_construct()
    return CompiledQueries(
        schema,
        {"nearby": nearby_connection, "whereAmI": where_am_i_answer},
        rules=(*specified_rules, *schema.added_rules),
        max_tokens=settings.max_tokens,
        max_document_bytes=settings.max_document_bytes,
        timeout_s=settings.request_timeout_s,
        cache_size=settings.query_cache_size,
    )
