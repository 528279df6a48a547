"""Weighted choices driven by pre-drawn uniforms, so every row's draws come from one seeded stream.

A batch draws a matrix of uniforms with numpy in one call; each row then reads its own numbers in
order through :class:`Dice`, and :class:`Weighted` turns a number in [0, 1) into a value.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")
_TINY = 1e-300


class Weighted(Generic[T]):
    """Values with relative weights (not necessarily summing to 1)."""

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        if not pairs or any(weight < 0 for _, weight in pairs):
            raise ValueError("weights must be non-negative and at least one")
        self.values: tuple[T, ...] = tuple(value for value, _ in pairs)
        total = float(sum(weight for _, weight in pairs))
        self._inverse = [total / weight if weight > 0 else 0.0 for _, weight in pairs]
        self._cumulative = [c / total for c in accumulate(weight for _, weight in pairs)]

    def pick(self, u: float) -> T:
        """The value whose cumulative-weight interval holds ``u`` (in [0, 1))."""
        index = min(bisect_right(self._cumulative, u), len(self.values) - 1)
        return self.values[index]

    def several(self, dice: Dice, count: int) -> list[T]:
        """``count`` distinct values, drawn by weight without replacement (Efraimidis-Spirakis),
        in the order the values were declared."""
        if count <= 0:
            return []
        count = min(count, len(self.values))
        log, u = math.log, dice.u
        keys = [log(u() or _TINY) * inverse if inverse else -math.inf for inverse in self._inverse]
        chosen = sorted(range(len(keys)), key=keys.__getitem__, reverse=True)[:count]
        return [self.values[i] for i in sorted(chosen)]


class Dice:
    """One row's uniforms, read in order; running out is a bug in the caller's budget."""

    __slots__ = ("u",)

    def __init__(self, values: list[float]) -> None:
        self.u: Callable[[], float] = iter(values).__next__

    def chance(self, p: float) -> bool:
        return self.u() < p

    def integer(self, low: int, high: int) -> int:
        """An integer in [low, high], both included."""
        return low + min(int(self.u() * (high - low + 1)), high - low)

    def item(self, values: Sequence[T]) -> T:
        return values[min(int(self.u() * len(values)), len(values) - 1)]
