"""docs/architecture.md is a map of the code: every module, package and file it names exists."""

from __future__ import annotations

import re

from geo.settings import PROJECT_ROOT

ARCHITECTURE = (PROJECT_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
#: Paths in backticks under the project's packages, e.g. `api/http/exports.py`, `geo/writes/`.
NAMED = re.compile(r"`((?:api|geo|loaders|tests)/[A-Za-z0-9_/.]*)`")


def test_the_architecture_page_names_only_what_exists() -> None:
    named = set(NAMED.findall(ARCHITECTURE))
    assert len(named) > 30, "the page names the modules it maps"
    missing = sorted(path for path in named if not (PROJECT_ROOT / path).exists())
    assert missing == []


def test_every_room_of_api_is_on_the_map() -> None:
    rooms = {
        f"api/{path.name}/"
        for path in (PROJECT_ROOT / "api").iterdir()
        if path.is_dir() and (path / "__init__.py").exists()
    }
    assert rooms == {"api/graphql/", "api/http/", "api/guard/"}
    for room in rooms:
        assert f"`{room}`" in ARCHITECTURE, room


def test_each_room_says_what_belongs_there_and_what_it_may_import() -> None:
    for room in ("graphql", "http", "guard"):
        doc = (PROJECT_ROOT / "api" / room / "__init__.py").read_text(encoding="utf-8")
        assert "May import" in doc, room
        assert "never" in doc, room
