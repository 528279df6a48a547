"""`dataQuality` through GraphQL: who sees which groups (the figures themselves are checked
against independent counts in tests/geo/test_data_quality.py)."""

from __future__ import annotations

import pytest

from tests.api.writes_support import As

pytestmark = pytest.mark.anyio

QUALITY = """query ($by: DataQualityGroupBy!) { dataQuality(groupBy: $by) {
  key name entries verified verifiedShare stale openProblemReports missingSchedule } }"""


async def test_an_editor_sees_its_own_backlog_and_an_analyst_every_one(
    schema, async_write_engine, keys
):
    oslo = await As(schema, async_write_engine, keys["oslo"][1]).data(
        QUALITY, {"by": "MUNICIPALITY"}
    )
    (group,) = oslo["dataQuality"]
    assert (group["key"], group["name"]) == ("0301", "Oslo")
    assert group["entries"] > 0
    assert group["verified"] + group["stale"] == group["entries"]
    assert group["verifiedShare"] == pytest.approx(group["verified"] / group["entries"], abs=1e-4)

    refused = await As(schema, async_write_engine, keys["oslo"][1]).error(QUALITY, {"by": "COUNTY"})
    assert refused["extensions"]["code"] == "FORBIDDEN"

    analyst = await As(schema, async_write_engine, keys["analyst"][1]).data(
        QUALITY, {"by": "MUNICIPALITY"}
    )
    by_key = {g["key"]: g for g in analyst["dataQuality"]}
    assert by_key["0301"] == group
    assert len(by_key) > 10

    red_cross = await As(schema, async_write_engine, keys["red_cross"][1]).data(
        QUALITY, {"by": "ORGANISATION"}
    )
    assert len(red_cross["dataQuality"]) == 1

    public = await As(schema, async_write_engine).error(QUALITY, {"by": "COUNTY"})
    assert public["extensions"]["code"] == "UNAUTHENTICATED"
