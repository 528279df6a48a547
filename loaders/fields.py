"""A file's own field names for a loader's columns: ``--code-field bydelnr`` and the like.

Loaders know the field names of the publishers they were written for (``bydelsnummer``,
``kommunenummer``, ``popTot``, …). A file from another publisher names its fields its own way,
so every vector and CSV loader takes ``fields``: our column (or a role: ``code``, ``name``,
``population``, …) -> the file's field. A refusal for a missing field lists the file's own
fields and names the option that would fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from loaders.report import LoadError

#: The command line's options for the roles most files have; any other column takes
#: ``--field COLUMN=FIELD``.
ROLE_OPTIONS = {
    "code": "--code-field",
    "name": "--name-field",
    "population": "--population-field",
    "immigrants": "--immigrants-field",
    "year": "--year-field",
    "municipality": "--municipality-field",
}

FieldMap = Mapping[str, str]


def resolve_fields(
    given: FieldMap | None, roles: Mapping[str, str], columns: Iterable[str], what: str
) -> dict[str, str]:
    """``given`` (keys: roles or columns) as column -> the file's field, for a loader whose
    roles mean ``roles`` (role -> column) and whose columns are ``columns``. LoadError
    UNKNOWN_COLUMN for a key the loader does not have."""
    known = set(columns)
    chosen: dict[str, str] = {}
    for key, field in (given or {}).items():
        column = roles.get(key, key)
        if column not in known:
            options = [ROLE_OPTIONS[r] for r in roles if r in ROLE_OPTIONS]
            raise LoadError(
                f"{what} has no column {key!r}: its columns are {', '.join(sorted(known))} "
                f"({', '.join(options) or 'no role options'}, or --field COLUMN=FIELD)",
                code="UNKNOWN_COLUMN",
                field=key,
            )
        chosen[column] = field
    return chosen


def option_for(column: str, roles: Mapping[str, str]) -> str:
    """The option that names the file's field for ``column``."""
    role = next((r for r, c in roles.items() if c == column and r in ROLE_OPTIONS), None)
    return f"{ROLE_OPTIONS[role]} FIELD" if role else f"--field {column}=FIELD"


def fields_listed(fields: Iterable[str]) -> str:
    names = [str(f) for f in fields if str(f)]
    return ", ".join(names) if names else "none"


def missing_field(
    column: str,
    tried: Iterable[str],
    file_fields: Iterable[str],
    roles: Mapping[str, str],
    path: Path,
    record: str | None = None,
) -> LoadError:
    """The refusal for a column no field of the file holds: what was looked for, the file's
    own fields, and the option to name the right one."""
    looked = ", ".join(tried)
    return LoadError(
        f"no {column}: no field {looked} in the file (its fields: {fields_listed(file_fields)}); "
        f"name the one that holds it with {option_for(column, roles)}",
        record=record,
        field=column,
        code="MISSING_FIELD",
        path=path.name,
    )


def find_field(file_fields: Iterable[str], wanted: str) -> str | None:
    """``wanted`` as the file spells it (case-insensitive), or None."""
    by_lower = {str(name).lower(): str(name) for name in file_fields}
    return by_lower.get(wanted.lower())


def named_field(file_fields: Iterable[str], wanted: str, column: str, path: Path) -> str:
    """The field the user named for ``column``; LoadError MISSING_FIELD listing the file's
    fields when it has no such field."""
    fields = list(file_fields)
    found = find_field(fields, wanted)
    if found is None:
        raise LoadError(
            f"no field {wanted!r} (named for {column}) in the file; its fields: "
            f"{fields_listed(fields)}",
            field=column,
            code="MISSING_FIELD",
            path=path.name,
        )
    return found
