"""`changes(since:)`: what changed in the directory since a time, for apps keeping a copy."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.errors import BadUserInput
from api.graphql.relay import DEFAULT_PAGE_SIZE, PageInfo, decode_cursor, encode_cursor, page_size
from api.graphql.types.activity import Activity
from api.graphql.types.council import ImmigrantCouncil
from api.graphql.types.entry import DirectoryEntry
from api.graphql.types.initiative import AreaInitiative
from api.graphql.types.organisation import Organisation
from api.graphql.types.venue import Venue
from geo.queries.changes import Change, ChangeKey, changes, count_changes

if TYPE_CHECKING:
    from api.graphql.context import Context

_CONNECTION = "changes"
_KEY = re.compile(r"[0-9T:.+\-]{19,40}\|[a-z_]{1,40}\|[0-9]{1,18}")


@strawberry.type(description="A changed row: the whole row, or a tombstone when archived.")
class ChangeEdge:
    cursor: str
    node: DirectoryEntry


@strawberry.type(description="Changes in (updatedAt, type, id) order.")
class ChangeConnection:
    edges: list[ChangeEdge]
    page_info: PageInfo
    since: strawberry.Private[datetime]

    @strawberry.field(description="How many changes there are since `since` in all.")
    async def total_count(self, info: strawberry.Info[Context, None]) -> int:
        return await info.context.run(count_changes, self.since)


async def _node(context: Context, change: Change) -> Any:
    loaders = context.loaders.directory
    kinds = {
        "activity": (loaders.activity, Activity.from_row),
        "venue": (loaders.venue, Venue.from_row),
        "organisation": (loaders.organisation, Organisation.from_row),
        "immigrant_council": (loaders.council, ImmigrantCouncil.from_row),
        "area_initiative": (loaders.initiative, AreaInitiative.from_row),
    }
    loader, build = kinds[change.entity]
    row = await loader.load(change.id)
    return build(row)


def _key(change: Change) -> str:
    return f"{change.updated_at.isoformat()}|{change.entity}|{change.id}"


def _parse_key(text: str | None) -> ChangeKey | None:
    if text is None:
        return None
    stamp, entity, row_id = text.split("|")
    try:
        return ChangeKey(datetime.fromisoformat(stamp), entity, int(row_id))
    except ValueError:
        raise BadUserInput("not a cursor of this list", field="after") from None


async def resolve_changes(
    info: strawberry.Info[Context, None],
    since: Annotated[
        datetime,
        strawberry.argument(description='ISO 8601 with a time zone, e.g. "2026-11-01T00:00:00Z".'),
    ],
    first: Annotated[
        int | None, strawberry.argument(description="Page size, at most 100.")
    ] = DEFAULT_PAGE_SIZE,
    after: Annotated[
        str | None, strawberry.argument(description="`endCursor` of the previous page.")
    ] = None,
) -> ChangeConnection:
    if since.tzinfo is None:
        raise BadUserInput("since needs a time zone, e.g. 2026-11-01T00:00:00Z", field="since")
    size = page_size(first, info.context.max_page_size)
    after_key = _parse_key(decode_cursor(after, _CONNECTION, _KEY))
    rows, has_next = await info.context.run(changes, since, first=size, after=after_key)
    # Together, so each kind's DataLoader loads the page's rows in one statement.
    nodes = await asyncio.gather(*(_node(info.context, c) for c in rows))
    edges = [
        ChangeEdge(cursor=encode_cursor(_CONNECTION, _key(c)), node=node)
        for c, node in zip(rows, nodes, strict=True)
    ]
    return ChangeConnection(
        edges=edges,
        since=since,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
