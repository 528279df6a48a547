"""Rows built on the driver (geo.queries.driver) are the objects their classes' own
constructors make."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from geo.queries.activities import ActivityRow
from geo.queries.driver import _builder, _row_maker
from geo.queries.rows import _field_names

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def _activity_values() -> dict[str, object]:
    return {name: f"v-{name}" for name in _field_names(ActivityRow)} | {
        "created_at": NOW,
        "updated_at": NOW,
        "archived_at": None,
        "version": 3,
        "id": 7,
        "x": 1.5,
        "y": 2.5,
        "target_groups": ["WOMEN"],
        "languages": ["nb"],
    }


def test_a_frozen_row_built_from_its_values_equals_the_constructed_one() -> None:
    names = list(_field_names(ActivityRow))
    values = _activity_values()
    ordered = [values[name] for name in names]
    built = _builder(ActivityRow, names)(ordered)
    made = ActivityRow(*ordered)
    assert built == made
    assert type(built) is ActivityRow
    assert built.version == 3


@dataclass(frozen=True)
class _Checked:
    a: int
    doubled: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "doubled", self.a * 2)


def test_a_class_whose_constructor_does_more_is_constructed() -> None:
    assert _builder(_Checked, ["a"])([21]).doubled == 42


def test_rows_are_the_same_whatever_the_order_of_the_selected_columns() -> None:
    """Columns in the fields' order, then the extra one (what geo.queries.nearby selects),
    are used as they come; any other order is picked out. Both give the same objects."""
    values = _activity_values() | {"distance": 12.5}
    in_order = (*_field_names(ActivityRow), "distance")
    shuffled = ("distance", *reversed(_field_names(ActivityRow)))
    made = [
        _row_maker(columns, ActivityRow, ("distance",))(tuple(values[c] for c in columns))
        for columns in (in_order, shuffled)
    ]
    assert (
        made[0]
        == made[1]
        == (ActivityRow(**{n: values[n] for n in _field_names(ActivityRow)}), 12.5)
    )


def test_a_class_whose_constructor_does_more_gets_only_its_own_values() -> None:
    assert _builder(_Checked, ["a"])([21, "not a field"]).doubled == 42
