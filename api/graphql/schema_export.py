"""The SDL of the schema, as checked in at ``schema.graphql`` (a test fails when they differ)."""

from __future__ import annotations

from strawberry.printer import print_schema

from api.graphql.schema import build_schema


def export_schema() -> str:
    """The schema's SDL, ending with one newline (`hverdag schema export` writes it)."""
    return print_schema(build_schema()).rstrip("\n") + "\n"
