"""Relay conventions: the ``Node`` interface with global ids, ``node(id:)``, cursor connections.

- A global id is base64 of ``"Type:key"``, e.g. ``base64("Municipality:0301")``; ``node(id:)``
  answers null for a well-formed id of an object that does not exist, and BAD_USER_INPUT for an
  id that is not one of ours.
- Connections page forward with ``first`` (default 20, at most 100: asking for more is a
  BAD_USER_INPUT, never silently clamped) and ``after``, an opaque cursor from ``edges.cursor`` or
  ``pageInfo.endCursor``. Cursors are keyset positions (the sort key of the last row seen), so
  pages stay stable while rows are added; a cursor that is not one of this connection's is a
  BAD_USER_INPUT.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import strawberry

from api.checks import b64decode_text, b64encode_text, decode_global_id, encode_global_id
from api.errors import BadUserInput

if TYPE_CHECKING:
    from api.graphql.context import Context

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_CURSOR_PREFIX = "cursor:v1"

NodeT = TypeVar("NodeT")


@strawberry.interface(description="An object with a global id, which `node(id:)` refetches.")
class Node:
    @strawberry.field(description='Global id: base64 of "Type:key", e.g. of "Municipality:0301".')
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id(self.node_type_name(), self.node_key()))

    def node_type_name(self) -> str:
        raise NotImplementedError

    def node_key(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class NodeKind:
    """How ``node(id:)`` finds one type: its key's format and a per-request batched fetch."""

    type_name: str
    key_pattern: re.Pattern[str]
    fetch: Callable[[Context, str], Awaitable[Node | None]]


async def resolve_node(context: Context, global_id: str, kinds: Sequence[NodeKind]) -> Node | None:
    type_name, key = decode_global_id(global_id)
    for kind in kinds:
        if kind.type_name == type_name:
            if not kind.key_pattern.fullmatch(key):
                raise BadUserInput(f"{key!r} is not a valid {type_name} key", field="id")
            return await kind.fetch(context, key)
    raise BadUserInput(f"{type_name!r} is not a type with global ids", field="id")


# --- connections ---------------------------------------------------------------------------------


@strawberry.type(description="Where a page sits in its connection.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More rows follow this page.")
    has_previous_page: bool = strawberry.field(
        description="Rows matching the same filter sort before this page."
    )
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last edge: pass it as `after` for the next page."
    )


@strawberry.type(description="A node and its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Opaque position of this node; use as `after`.")
    node: NodeT


@strawberry.type(description="One page of a list, Relay style.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    total_count: int = strawberry.field(description="How many rows match the filter, on all pages.")


def page_size(first: int | None, maximum: int = MAX_PAGE_SIZE) -> int:
    """``first`` checked: default 20, 0-``maximum`` (HVERDAG_MAX_PAGE_SIZE, 100 by default);
    anything else is a BAD_USER_INPUT."""
    if first is None:
        return min(DEFAULT_PAGE_SIZE, maximum)
    if first < 0:
        raise BadUserInput(f"first must not be negative, got {first}", field="first")
    if first > maximum:
        raise BadUserInput(
            f"first must be at most {maximum}, got {first}; page with `after`",
            field="first",
            maximum=maximum,
        )
    return first


def encode_cursor(connection: str, key: str) -> str:
    return b64encode_text(f"{_CURSOR_PREFIX}:{connection}:{key}")


def decode_cursor(cursor: str | None, connection: str, key_pattern: re.Pattern[str]) -> str | None:
    """The sort key inside a cursor of ``connection``; BAD_USER_INPUT for any other string."""
    if cursor is None:
        return None
    decoded = b64decode_text(cursor)
    prefix = f"{_CURSOR_PREFIX}:{connection}:"
    if (
        decoded is None
        or not decoded.startswith(prefix)
        or not key_pattern.fullmatch(key := decoded[len(prefix) :])
    ):
        raise BadUserInput(f"{cursor!r} is not a cursor of this list", field="after")
    return key


def connection_from_page(
    items: Sequence[Any],
    *,
    connection: str,
    key: Callable[[Any], str],
    node: Callable[[Any], NodeT],
    total_count: int,
    has_next_page: bool,
    has_previous_page: bool,
) -> Connection[NodeT]:
    edges = [Edge(cursor=encode_cursor(connection, key(item)), node=node(item)) for item in items]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next_page,
            has_previous_page=has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total_count,
    )
