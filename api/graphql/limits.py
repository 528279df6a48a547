"""A limit on how much a query may ask for, estimated before it runs.

The depth limit alone does not bound the work: ``counties { municipalities { county {
municipalities { county { … } } } } }`` stays within ten levels but multiplies at every list
(a depth of ten asked for ~10⁹ objects and took the process's memory). This validation rule
estimates the number of objects an operation returns — every list multiplies its subtree by
its page size (``first``: the literal value, the maximum for a variable, the default when
omitted) or by a known bound — and refuses, with QUERY_TOO_COMPLEX, an operation whose estimate
exceeds the budget. Introspection is not counted: graphql-core's own rule limits its nesting.
"""

from __future__ import annotations

from typing import Any

from api.errors import ErrorCode
from geo.labels import VOCABULARIES
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

#: Lists without a `first` argument, with an upper bound of their length.
LIST_BOUNDS: dict[tuple[str, str], int] = {
    ("Query", "counties"): 20,
    ("County", "municipalities"): 60,
    ("Query", "areaInitiatives"): 50,
    ("WhereAmIResult", "areaInitiatives"): 10,
    ("Municipality", "councils"): 10,
    ("Activity", "schedule"): 14,
    ("Venue", "availability"): 14,
    ("Venue", "activities"): 50,
    ("Query", "venueAccess"): 400,  # per municipality: 356 in 2020's numbering
    ("Query", "councilCoverage"): 20,
    # The page's reports: `problemReports(first:)` counts them already.
    ("ProblemReportConnection", "nodes"): 1,
    ("Query", "dataQuality"): 400,  # a group per municipality at most (357 in 2024)
    ("Query", "webhookSubscriptions"): 20,  # geo.writes.webhooks.MAX_PER_KEY a key
    ("VocabularyLabels", "vocabularies"): len(VOCABULARIES),
    ("Vocabulary", "values"): max(len(values) for values in VOCABULARIES.values()),
}
#: The largest integer every JSON reader holds exactly (JavaScript's Number.MAX_SAFE_INTEGER).
MAX_SAFE_INTEGER = 2**53 - 1
#: A list field of this API with no bound above.
DEFAULT_LIST_BOUND = 100
#: Fields that cost more than one object (a boundary is a whole GeoJSON geometry).
FIELD_WEIGHTS: dict[tuple[str, str], int] = {
    ("Municipality", "boundary"): 10,
    # A coverage report is a spatial join over every unit of its area: weighed like a thousand
    # objects, so one operation holds at most about 16 (fewer with big pages of gaps). Its gaps
    # are a `first` page (at most 100), counted as any page is; each gap's geometry is a whole
    # GeoJSON polygon.
    ("Query", "coverage"): 1000,
    ("CoverageGap", "geometry"): 10,
}


#: What a connection's `totalCount` costs: it counts every match, not one page (once per
#: connection, not per row).
TOTAL_COUNT_WEIGHT = 100
#: What a text filter costs (fuzzy matching over names and descriptions), once per field that
#: takes one; a filter given as a variable is counted as if it had text.
TEXT_FILTER_WEIGHT = 500


def _may_filter_text(node: FieldNode) -> bool:
    """Whether the field's `filter` argument has (or, as a variable, may have) a `text`."""
    given = next((a.value for a in node.arguments or () if a.name.value == "filter"), None)
    if given is None:
        return False
    if isinstance(given, VariableNode):
        return True
    if isinstance(given, ObjectValueNode):
        text = next((f.value for f in given.fields if f.name.value == "text"), None)
        if isinstance(text, VariableNode):
            return True
        return isinstance(text, StringValueNode) and bool(text.value.strip())
    return False


def _page_factor(node: FieldNode, field: Any, max_page: int) -> int | None:
    """The page size of a field with a `first` argument, or None when it has none."""
    argument = field.args.get("first")
    if argument is None:
        return None
    given = next((a.value for a in node.arguments or () if a.name.value == "first"), None)
    if given is None:
        default = argument.default_value
        return default if isinstance(default, int) else max_page
    if isinstance(given, IntValueNode):
        # Above the page cap the resolver refuses it with a clearer BAD_USER_INPUT.
        return max(0, min(int(given.value), max_page))
    return max_page  # a variable: assume the largest page it may ask for


class _Estimate:
    def __init__(self, context: ValidationContext, max_page: int) -> None:
        self.context = context
        self.max_page = max_page
        self.fragments: dict[tuple[str, str], int] = {}
        self.visiting: set[str] = set()

    def selection_set(self, selections: SelectionSetNode, parent: Any) -> int:
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.context.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, target or parent)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> int:
        definition = self.context.get_fragment(name)
        if definition is None or name in self.visiting:
            return 0  # other rules report unknown and cyclic fragments
        target = self.context.schema.get_type(definition.type_condition.name.value)
        key = (name, getattr(target, "name", ""))
        if key not in self.fragments:
            self.visiting.add(name)
            self.fragments[key] = self.selection_set(definition.selection_set, target)
            self.visiting.discard(name)
        return self.fragments[key]

    def field(self, node: FieldNode, parent: Any) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0  # introspection: graphql-core's MaxIntrospectionDepthRule bounds it
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        field = parent.fields.get(name)
        if field is None:
            return 0  # FieldsOnCorrectTypeRule reports it
        factor = _page_factor(node, field, self.max_page)
        if factor is None:
            if node.selection_set is None:
                factor = 1  # a leaf, even a list of scalars, is one value
            elif is_list_type(get_nullable_type(field.type)):
                factor = (
                    1
                    if parent.name.endswith("Connection") and name == "edges"
                    else LIST_BOUNDS.get((parent.name, name), DEFAULT_LIST_BOUND)
                )
            else:
                factor = 1
        own = FIELD_WEIGHTS.get((parent.name, name), 1)
        children = (
            self.selection_set(node.selection_set, get_named_type(field.type))
            if node.selection_set is not None
            else 0
        )
        return factor * (own + children) + self.flat_weight(node, field)

    def flat_weight(self, node: FieldNode, field: Any) -> int:
        """The field's costs that do not grow with its page: a count of all matches, a text
        search."""
        weight = 0
        if "filter" in field.args and _may_filter_text(node):
            weight += TEXT_FILTER_WEIGHT
        if node.selection_set is not None and self.asks_total_count(node.selection_set, set()):
            weight += TOTAL_COUNT_WEIGHT
        return weight

    def asks_total_count(self, selections: SelectionSetNode, seen: set[str]) -> bool:
        """`totalCount` among the selections, fragments included."""
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value == "totalCount":
                    return True
            elif isinstance(selection, InlineFragmentNode):
                if self.asks_total_count(selection.selection_set, seen):
                    return True
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                definition = self.context.get_fragment(selection.name.value)
                if definition is not None and self.asks_total_count(definition.selection_set, seen):
                    return True
        return False


def tolerant_rule(rule: type[ValidationRule]) -> type[ValidationRule]:
    """``rule``, but one that reports nothing (instead of raising) on a document with an unknown
    fragment: strawberry's QueryDepthLimiter measures the depth in its constructor and raised
    KeyError there, a 500. KnownFragmentNamesRule reports the unknown fragment."""

    class Tolerant(rule):  # type: ignore[valid-type, misc]
        def __init__(self, context: ValidationContext) -> None:
            try:
                super().__init__(context)
            except KeyError:
                ValidationRule.__init__(self, context)

    Tolerant.__name__ = f"{rule.__name__}Tolerant"
    Tolerant.__qualname__ = Tolerant.__name__
    return Tolerant


def cost_limit_rule(max_objects: int, max_page: int) -> type[ValidationRule]:
    """A validation rule refusing operations estimated to return more than ``max_objects``.

    Build it once per schema: the validation cache keys on the rule class.
    """

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            root = self.context.schema.get_root_type(node.operation)
            estimate = _Estimate(self.context, max_page)
            # Nested lists multiply past any integer a JSON reader takes: report at most 2⁵³-1.
            objects = min(estimate.selection_set(node.selection_set, root), MAX_SAFE_INTEGER)
            name = f"'{node.name.value}'" if node.name else "The operation"
            if objects > max_objects:
                self.report_error(
                    GraphQLError(
                        f"{name} would return about {objects:,} objects; the limit is "
                        f"{max_objects:,}. Ask for smaller pages or fewer nested lists.",
                        node,
                        extensions={
                            "code": ErrorCode.QUERY_TOO_COMPLEX.value,
                            "estimate": objects,
                            "limit": max_objects,
                        },
                    )
                )

    return CostLimit
