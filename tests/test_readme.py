"""The README's promises that code can check: the settings table and the two commands."""

from __future__ import annotations

import re

from geo.settings import PROJECT_ROOT, settings_table

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_settings_table_matches_the_settings_class() -> None:
    found = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", README, re.S)
    assert found, "README lost its settings table markers"
    assert found.group(1) == settings_table()


def test_ci_runs_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "./scripts/test.sh" in README
    assert "./scripts/demo.sh" in README
    commands = [
        line for line in ci.splitlines() if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert commands == ["exec scripts/test.sh"]
