"""Plain result types shared by the read queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Wgs84Point:
    """A point in WGS84 degrees."""

    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list.

    ``has_previous_page`` is true when rows matching the same filter sort before the page;
    ``total_count`` counts every row matching the filter, on all pages.
    """

    items: list[T]
    total_count: int
    has_next_page: bool
    has_previous_page: bool
