"""The public id of a row: base64 of ``"Type:key"``, e.g. of ``"Venue:42"``.

It is the id GraphQL answers (``node(id:)`` finds the row), the exports write and the vector
tiles carry, so a client can join what it got from one with another. The API's own encoder is
``api.checks.encode_global_id``; this is the same id computed in SQL, for statements that
encode their answer in the database (the tiles' ``ST_AsMVT``). tests/api/test_public_ids.py
checks the two agree.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

#: Type names of the ids made here (the API's NodeType values).
VENUE, ACTIVITY = "Venue", "Activity"


def public_id(type_name: str, key: ColumnElement[Any]) -> ColumnElement[Any]:
    """base64 of ``"{type_name}:{key}"`` (PostgreSQL's ``encode(…, 'base64')`` breaks lines
    only after 76 characters, far beyond these ids); NULL for a NULL key."""
    text = sa.literal(f"{type_name}:", sa.Text) + sa.cast(key, sa.Text)
    return sa.func.encode(sa.func.convert_to(text, "UTF8"), "base64", type_=sa.Text)
