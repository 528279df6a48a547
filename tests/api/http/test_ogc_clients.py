"""The OGC API as GIS users' tools read it, against a real server on 127.0.0.1: GDAL's OAPIF
driver (Debian's gdal-bin, installed by scripts/bootstrap.sh --dev) lists the collections and
sends an attribute filter on a queryable to the server, and OWSLib (PyPI) reads /queryables and
filters by a queryable. Both answers are compared with PostGIS."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import sqlalchemy as sa
from owslib.ogcapi.features import Features

from geo.tables import venue
from tests.api.running import serving


@pytest.fixture(scope="module")
def ogc_url(loaded_url, tmp_path_factory):
    with serving(loaded_url, tmp_path_factory.mktemp("ogc"), rate_limit_enabled="false") as running:
        yield f"{running.base}/ogc"


def _libraries_in_oslo(conn: sa.Connection) -> set[str]:
    return set(
        conn.execute(
            sa.select(venue.c.name).where(
                venue.c.archived_at.is_(None),
                venue.c.venue_type == "LIBRARY",
                venue.c.municipality_number == "0301",
            )
        ).scalars()
    )


def _gdal(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which(args[0])
    assert tool, f"{args[0]} not found: scripts/bootstrap.sh --dev installs gdal-bin"
    return subprocess.run(
        [tool, *args[1:]], capture_output=True, text=True, timeout=120, check=False
    )


def test_gdal_lists_the_collections(ogc_url):
    done = _gdal("ogrinfo", "-ro", "-q", f"OAPIF:{ogc_url}")
    assert done.returncode == 0, done.stderr
    listed = set(re.findall(r"^\d+: (\w+)", done.stdout, re.MULTILINE))
    assert listed == {"municipalities", "venues", "activities", "councils", "areas", "initiatives"}


def test_gdal_filters_by_a_queryable_on_the_server(ogc_url, loaded_conn):
    done = _gdal(
        "ogr2ogr",
        "-f",
        "GeoJSON",
        "/vsistdout/",
        f"OAPIF:{ogc_url}",
        "venues",
        "-where",
        "venue_type = 'LIBRARY' AND municipality_number = '0301'",
        "--config",
        "CPL_DEBUG",
        "ON",
    )
    assert done.returncode == 0, done.stderr
    names = {f["properties"]["name"] for f in json.loads(done.stdout)["features"]}
    assert names == _libraries_in_oslo(loaded_conn)
    assert len(names) > 0
    # The filter went to the server as the queryables' parameters, not evaluated client side.
    fetched = re.findall(r"/ogc/collections/venues/items\?[^ )]*", done.stderr)
    assert any("venue_type=LIBRARY" in url and "municipality_number=0301" in url for url in fetched)
    assert "evaluated on client side" not in done.stderr


def test_owslib_reads_queryables_and_filters_by_one(ogc_url, loaded_conn):
    api = Features(ogc_url)
    assert "venues" in {c["id"] for c in api.collections()["collections"]}
    queryables = api.collection_queryables("venues")
    assert queryables["properties"]["venue_type"]["type"] == "string"
    assert "LIBRARY" in queryables["properties"]["venue_type"]["enum"]
    found = api.collection_items(
        "venues", venue_type="LIBRARY", municipality_number="0301", limit=1000
    )
    assert found["numberMatched"] == len(found["features"])
    assert {f["properties"]["name"] for f in found["features"]} == _libraries_in_oslo(loaded_conn)
    one = api.collection_item("venues", found["features"][0]["id"])
    assert one["id"] == found["features"][0]["id"]
