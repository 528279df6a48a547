"""The public ids computed in SQL (geo.public_ids, for the tiles) are the API's global ids."""

from __future__ import annotations

import sqlalchemy as sa

from api.checks import NodeType, encode_global_id
from geo.public_ids import ACTIVITY, VENUE, public_id


def test_sql_public_ids_are_the_api_global_ids(loaded_conn):
    assert {VENUE, ACTIVITY} <= {t.value for t in NodeType}
    for type_name in (VENUE, ACTIVITY):
        for key in (1, 42, 9_876_543_210):
            got = loaded_conn.execute(sa.select(public_id(type_name, sa.literal(key)))).scalar()
            assert got == encode_global_id(type_name, str(key))
    assert loaded_conn.execute(sa.select(public_id(VENUE, sa.null()))).scalar() is None
