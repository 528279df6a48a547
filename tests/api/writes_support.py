"""Shared by the write-API tests: a writable clone of the demo data per module, keys for every
role, and an executor that runs GraphQL as a given principal."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncEngine

from api.graphql.context import Context
from api.guard.auth import PUBLIC, Principal, principal_of
from geo.keys import create_key
from geo.vocab import Role
from geo.writes import Actor

OSLO = {"lat": 59.9139, "lon": 10.7522}  # 0301
BERGEN = {"lat": 60.3712, "lon": 5.3420}  # 4601
RED_CROSS = "864139442"
SAVE_THE_CHILDREN = "941296459"


def org_id(conn: sa.Connection, number: str) -> int:
    from geo.tables import organisation

    return int(
        conn.execute(
            sa.select(organisation.c.id).where(organisation.c.organisation_number == number)
        ).scalar_one()
    )


def make_keys(engine: sa.Engine) -> dict[str, tuple[str, Principal]]:
    wanted = {
        "admin": (Role.ADMIN, {}),
        "analyst": (Role.ANALYST, {}),
        "oslo": (Role.MUNICIPALITY_EDITOR, {"municipality_number": "0301"}),
        "bergen": (Role.MUNICIPALITY_EDITOR, {"municipality_number": "4601"}),
        "red_cross": (Role.ORGANISATION_EDITOR, {"organisation_number": RED_CROSS}),
        "save_the_children": (Role.ORGANISATION_EDITOR, {"organisation_number": SAVE_THE_CHILDREN}),
    }
    made = {}
    with engine.begin() as conn:
        for name, (role, scope) in wanted.items():
            secret, key = create_key(conn, role, label=f"test {name}", **scope)
            made[name] = (secret, principal_of(key))
    return made


def admin_actor(keys: dict[str, tuple[str, Principal]]) -> Actor:
    actor = keys["admin"][1].actor()
    assert actor is not None
    return actor


class As:
    """Runs GraphQL as one principal, a new Context per call (as one HTTP request)."""

    def __init__(
        self, schema: strawberry.Schema, engine: AsyncEngine, principal: Principal = PUBLIC
    ) -> None:
        self.schema, self.engine, self.principal = schema, engine, principal

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        return await self.schema.execute(
            query,
            variable_values=variables,
            context_value=Context(engine=self.engine, principal=self.principal),
        )

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        result = await self(query, variables)
        assert result.errors is None, [e.formatted for e in result.errors]
        return result.data

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The one error of a result (its formatted form)."""
        result = await self(query, variables)
        assert result.errors, result.data
        assert len(result.errors) == 1, [e.formatted for e in result.errors]
        return result.errors[0].formatted
