"""The GraphQL side of the metrics (:mod:`api.guard.metrics`): operations counted by type and
root field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from api.guard.metrics import INVALID, Metrics
from graphql import FieldNode, OperationDefinitionNode


def _root_fields(document: Any, operation_name: str | None) -> Iterator[str]:
    for definition in getattr(document, "definitions", ()):
        if not isinstance(definition, OperationDefinitionNode):
            continue
        name = definition.name.value if definition.name else None
        if operation_name is None or name == operation_name:
            for selection in definition.selection_set.selections:
                if isinstance(selection, FieldNode):
                    yield selection.name.value
            return


def _known(schema: Any, kind: str, field: str) -> bool:
    core = schema._schema  # strawberry's graphql-core schema
    root = core.mutation_type if kind == "mutation" else core.query_type
    return root is not None and field in root.fields


def operation_counter(metrics: Metrics) -> type[SchemaExtension]:
    """A schema extension counting each operation's root fields (only the schema's own field
    names become label values)."""

    class OperationMetrics(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            yield
            context = self.execution_context
            try:
                kind = context.operation_type.value
            except Exception:  # no document (a syntax error) or no such operation
                metrics.count_operation(INVALID, INVALID)
                return
            for field in _root_fields(context.graphql_document, context.operation_name):
                metrics.count_operation(
                    kind, field if _known(context.schema, kind, field) else INVALID
                )

    return OperationMetrics
