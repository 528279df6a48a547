"""Every GraphQL example in the README and the guides runs against the demo data.

A ```graphql block is one operation. A line ``# variables: {...}`` gives its variables; a line
``# key: NAME`` runs it with that test key (tests/api/writes_support.py: oslo, bergen,
red_cross, analyst, admin, …) on a writable copy of the demo data, in document order — how the
guides' mutations run. Every answer must come without errors, with a value for every root
field, and every list of edges in it non-empty: an example shows data (a block may say
``# may be empty``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, OperationType, parse

from tests.api.writes_support import As

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```graphql\n(.*?)^```", re.MULTILINE | re.DOTALL)
VARIABLES = re.compile(r"^# variables: (\{.*\})$", re.MULTILINE)
KEY = re.compile(r"^# key: (\w+)$", re.MULTILINE)

pytestmark = pytest.mark.anyio


def _examples() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for number, match in enumerate(BLOCK.finditer(path.read_text(encoding="utf-8")), 1):
            found.append((f"{path.relative_to(ROOT)}#{number}", match.group(1)))
    return found


EXAMPLES = _examples()


def _operation(source: str) -> OperationDefinitionNode:
    operations = [d for d in parse(source).definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1, "one operation per block"
    return operations[0]


def _empty_edges(value: Any, path: str = "") -> list[str]:
    if isinstance(value, dict):
        found = [path + ".edges"] if value.get("edges") == [] else []
        for key, item in value.items():
            found += _empty_edges(item, f"{path}.{key}")
        return found
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _empty_edges(item, f"{path}[{i}]")]
    return []


def test_the_guides_have_examples():
    assert len(EXAMPLES) >= 10
    assert {name.split("#")[0] for name, _ in EXAMPLES} >= {"docs/guide-app-developers.md"}


def test_the_guides_for_writers_have_mutations():
    keyed = [name for name, source in EXAMPLES if KEY.search(source)]
    assert {name.split("#")[0] for name in keyed} >= {
        "docs/guide-municipalities.md",
        "docs/guide-organisations.md",
    }


@pytest.mark.parametrize(("name", "source"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
async def test_example_answers_with_data(gql, schema, async_write_engine, keys, name, source):
    operation = _operation(source)
    given = VARIABLES.search(source)
    variables = json.loads(given.group(1)) if given else None
    key = KEY.search(source)
    if key is None:
        assert operation.operation is OperationType.QUERY, f"{name}: a mutation needs a key"
        data = await gql.data(source, variables)
    else:
        data = await As(schema, async_write_engine, keys[key.group(1)][1]).data(source, variables)
    assert all(value is not None for value in data.values()), (name, data)
    if "# may be empty" not in source:
        assert not _empty_edges(data), (name, _empty_edges(data))
