"""A compiled execution path for the hot read: `nearby` asking for plain fields.

Resolving ~160 fields one by one through graphql-core and strawberry cost 60 % of a near-me
request's CPU (docs/performance.md). For an operation of a shape known in advance — one root
field this module knows (``nearby``), whose selection, however aliased or split into fragments,
reaches only fields that are attributes of the objects the resolver returns (or a resolver of
the object alone: the global ``id``) — the selection is compiled once per query text into
functions that build the answer's dicts straight from those objects.

It answers exactly what the normal path answers, or not at all: a document that does not parse,
validate (the schema's own rules, limits included) or fit the shape gets ``None`` from
:meth:`CompiledQueries.plan`; variables or arguments that do not coerce, an error raised by the
resolver, a null where the schema says non-null: :meth:`CompiledQueries.answer` gives ``None``
too. The caller then runs the normal path, which produces the answer or the errors with their
codes. Reads only, so running the normal path after an abandoned compiled attempt is harmless
(a query that ran into the request timeout or the statement timeout runs a second time before
its TIMEOUT: on `nearby`'s millisecond statements, a fault case).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass
from operator import attrgetter
from typing import Any

import strawberry
from graphql.execution.values import coerce_argument, get_variable_values
from graphql.validation import ASTValidationRule
from strawberry.schema.schema import validate_document
from strawberry.types.arguments import StrawberryArgument, convert_arguments
from strawberry.types.base import StrawberryObjectDefinition, StrawberryOptional
from strawberry.types.field import StrawberryField

from api.errors import ApiError
from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    Visitor,
    get_operation_ast,
    is_abstract_type,
    is_leaf_type,
    parse,
    visit,
)

logger = logging.getLogger("hverdag.api.compiled")

Render = Callable[[Any], Any]
#: A root field's work: the request's context and the field's Python arguments → its value.
RootResolver = Callable[..., Awaitable[Any]]


#: The schema extensions whose work the compiled path does itself or need not do: the codes of
#: errors (it answers only successes), the token limit and validation rules (its own parse and
#: validation apply them), the parser and validation caches (it keeps its plans), and the
#: operation counter (the app counts its answers).
KNOWN_EXTENSIONS = frozenset(
    {
        "ErrorCodes",
        "MaxTokensLimiter",
        "AddValidationRules",
        "ParserCache",
        "ValidationCache",
        "OperationMetrics",
    }
)


class UnknownExtensionError(Exception):
    """The schema runs an extension the compiled path would skip without knowing its effect."""


def _extension_names(schema: strawberry.Schema) -> list[str]:
    """The class names of the schema's extensions (given as classes, or factories of them)."""
    names = []
    for extension in schema.extensions:
        kind = extension if isinstance(extension, type) else type(extension())
        names.append(kind.__name__)
    return names


class _NotCompilableError(Exception):
    """The compiled path cannot give the normal path's answer: let the normal path run."""


@dataclass(frozen=True)
class Plan:
    """One query text's compiled answer: the root field, its argument nodes, the renderer."""

    operation: OperationDefinitionNode
    response_key: str
    field_node: FieldNode
    field: StrawberryField
    resolver: RootResolver
    render: Render
    #: The arguments that use no variable (literals, defaults), converted once.
    constant_kwargs: Mapping[str, Any]
    #: The others: (name, definition, node), coerced per request.
    variable_arguments: tuple[tuple[str, GraphQLArgument, ArgumentNode], ...]
    #: Conversions of arguments of a flat input type (:func:`_flat_input`), by name.
    flat_inputs: Mapping[str, Callable[[Any], dict[str, Any]]]
    #: What the selection reads of each object type (Python names of its fields and
    #: resolvers, by GraphQL type name), handed to a root resolver that takes ``reads``: it
    #: may then build only those (api.graphql.projection). None for the other roots.
    reads: Mapping[str, frozenset[str]] | None = None


class CompiledQueries:
    """Plans per query text (a bounded LRU), and answers from them."""

    def __init__(
        self,
        schema: strawberry.Schema,
        roots: Mapping[str, RootResolver],
        *,
        rules: Sequence[type[ASTValidationRule]],
        max_tokens: int,
        max_document_bytes: int,
        timeout_s: float,
        cache_size: int,
    ) -> None:
        unknown = [name for name in _extension_names(schema) if name not in KNOWN_EXTENSIONS]
        if unknown:
            raise UnknownExtensionError(
                f"the compiled path skips strawberry's execution, and with it the schema "
                f"extensions; it does not know {', '.join(unknown)}: add it to "
                "KNOWN_EXTENSIONS once the compiled answer is the same with it, or turn the "
                "compiled path off (HVERDAG_COMPILED_QUERIES=false)"
            )
        self._schema = schema
        self._graphql: GraphQLSchema = schema._schema
        self._roots = dict(roots)
        self._projecting = {
            name for name, root in roots.items() if "reads" in inspect.signature(root).parameters
        }
        self._rules = tuple(rules)
        self._max_tokens = max_tokens
        self._max_document_bytes = max_document_bytes
        self._timeout_s = timeout_s
        self._cache_size = cache_size
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()
        self._conversions: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        #: How many requests each path answered (for tests and the benchmark's record).
        self.answered = 0
        self.abandoned = 0

    def plan(self, query: str, operation_name: str | None) -> Plan | None:
        key = (query, operation_name)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        plan = self._compile(query, operation_name)
        self._plans[key] = plan
        if len(self._plans) > self._cache_size:
            self._plans.popitem(last=False)
        return plan

    async def answer(
        self, plan: Plan, variables: Mapping[str, Any] | None, context: Any
    ) -> dict[str, Any] | None:
        """The answer's ``{"data": …}``, or None when the normal path must answer."""
        try:
            kwargs = self._arguments(plan, variables)
            if plan.reads is not None:
                kwargs["reads"] = plan.reads
            async with asyncio.timeout(self._timeout_s):
                value = await plan.resolver(context, **kwargs)
            data = {plan.response_key: plan.render(value)}
        except Exception as exc:  # every failure is the normal path's to report, with its code
            self.abandoned += 1
            expected = isinstance(exc, _NotCompilableError | GraphQLError | ApiError | TimeoutError)
            logger.log(
                logging.DEBUG if expected else logging.WARNING,
                "compiled path gave up (%s: %s); strawberry answers",
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
            )
            return None
        self.answered += 1
        return {"data": data}

    def _arguments(self, plan: Plan, variables: Mapping[str, Any] | None) -> dict[str, Any]:
        """The resolver's arguments: the plan's constant ones, and those using variables
        coerced (graphql-core's rules, argument by argument) and converted."""
        coerced = get_variable_values(
            self._graphql, plan.operation.variable_definitions or (), dict(variables or {})
        )
        if isinstance(coerced, list):
            raise _NotCompilableError("variables do not coerce")
        graphql_args: dict[str, Any] = {}
        for name, definition, node in plan.variable_arguments:
            coerce_argument(graphql_args, plan.field_node, name, definition, node, coerced, None)
        converted = dict(plan.constant_kwargs)
        for name, value in graphql_args.items():
            flat = plan.flat_inputs.get(name)
            converted.update(
                flat(value) if flat is not None else self._converted(plan.field, name, value)
            )
        return converted

    def _converted(self, field: StrawberryField, name: str, value: Any) -> dict[str, Any]:
        """One argument as strawberry passes it to the resolver (input objects as their
        classes, enums as members), kept per value: a filter repeats from request to request
        and converting it is a tenth of the request. The resolvers never change their
        arguments, so one converted value serves every request that sends it."""
        try:
            key = (id(field), name, _frozen(value))
        except TypeError:
            key = None
        if key is not None and key in self._conversions:
            self._conversions.move_to_end(key)
            return self._conversions[key]
        result = self._convert(field, {name: value})
        if key is not None:
            self._conversions[key] = result
            if len(self._conversions) > self._cache_size:
                self._conversions.popitem(last=False)
        return result

    def _convert(self, field: StrawberryField, values: dict[str, Any]) -> dict[str, Any]:
        return convert_arguments(
            values,
            field.arguments,
            scalar_registry=self._schema.schema_converter.scalar_registry,
            config=self._schema.config,
        )

    def _split_arguments(
        self, field: StrawberryField, field_def: GraphQLField, node: FieldNode
    ) -> tuple[dict[str, Any], list[Any]]:
        """The field's arguments that use no variable, coerced and converted now (a literal
        or a default is the same in every request: a third of the per-request work of the
        arguments), and the others, left for each request."""
        given = {argument.name.value: argument for argument in node.arguments or ()}
        constant: dict[str, Any] = {}
        variable = []
        for name, definition in field_def.args.items():
            argument = given.get(name)
            if argument is not None and _uses_variables(argument.value):
                variable.append((name, definition, argument))
            else:
                coerce_argument(constant, node, name, definition, argument, None, None)
        return self._convert(field, constant), variable

    # --- compiling ---------------------------------------------------------------------------

    def _compile(self, query: str, operation_name: str | None) -> Plan | None:
        if len(query.encode("utf-8", "replace")) > self._max_document_bytes:
            return None  # the normal path refuses it with the limit in the error
        try:
            document = parse(query, max_tokens=self._max_tokens)
        except GraphQLError:
            return None
        if validate_document(self._graphql, document, self._rules) or _has_directives(document):
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            return None
        query_type = self._graphql.query_type
        assert query_type is not None
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        compiler = _Compiler(self._graphql, fragments, self._schema.config.name_converter)
        roots = compiler.collect(query_type, [operation.selection_set])
        if len(roots) != 1:
            return None
        ((response_key, nodes),) = roots.items()
        name = nodes[0].name.value
        if name not in self._roots or len(nodes) != 1:
            return None
        field = compiler.strawberry_field(query_type, name)
        try:
            render = compiler.value(query_type.fields[name].type, nodes)
            constant, variable = self._split_arguments(field, query_type.fields[name], nodes[0])
        except (_NotCompilableError, GraphQLError) as reason:
            logger.debug("not compiled: %s", reason)
            return None
        names = self._schema.config.name_converter
        flat = {
            names.from_argument(argument): converter
            for argument in field.arguments
            if (converter := _flat_input(argument, names)) is not None
        }
        return Plan(
            operation=operation,
            response_key=response_key,
            field_node=nodes[0],
            field=field,
            resolver=self._roots[name],
            render=render,
            constant_kwargs=constant,
            variable_arguments=tuple(variable),
            flat_inputs=flat,
            reads=(
                {type_name: frozenset(names) for type_name, names in compiler.reads.items()}
                if name in self._projecting
                else None
            ),
        )


def _frozen(value: Any) -> Any:
    """A hashable stand-in for a coerced argument value (dicts and lists of scalars and enum
    members); TypeError for anything else. Types are part of it: 1 and 1.0 and True differ."""
    if isinstance(value, dict):
        return ("{", tuple((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("[", tuple(_frozen(v) for v in value))
    hash(value)
    return (type(value), value)


_BUILT_IN_SCALARS = (str, int, float, bool)


def _flat_input(argument: StrawberryArgument, names: Any) -> Callable[[Any], dict[str, Any]] | None:
    """For an argument of an input type whose fields are all built-in scalars (``at``'s
    LatLonInput): its conversion as strawberry's ``convert_arguments`` does it, without
    resolving each field's type and name on every request (docs/performance.md; a test compares the
    two). None for any other argument."""
    wrapped = argument.type
    optional = isinstance(wrapped, StrawberryOptional)
    input_type = wrapped.of_type if optional else wrapped
    definition = getattr(input_type, "__strawberry_definition__", None)
    if (
        definition is None
        or not definition.is_input
        or definition.from_input is not None
        or definition.directives
    ):
        return None
    pairs: list[tuple[str, str]] = []
    implicit: dict[str, None] = {}
    for field in definition.fields:
        field_type = field.resolve_type(type_definition=definition)
        leaf = field_type.of_type if isinstance(field_type, StrawberryOptional) else field_type
        if leaf not in _BUILT_IN_SCALARS or field.directives:
            return None
        pairs.append((names.from_field(field), field.python_name))
        if field.default_value is MISSING and field.default_factory is MISSING:
            implicit[field.python_name] = None
    python_name = argument.python_name
    cls: Any = input_type

    def convert(value: Any) -> dict[str, Any]:
        if value is None and optional:
            return {python_name: None}
        values = dict(implicit)
        for graphql_name, field_name in pairs:
            if graphql_name in value:
                values[field_name] = value[graphql_name]
        return {python_name: cls(**values)}

    return convert


def _uses_variables(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_uses_variables(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_uses_variables(field.value) for field in value.fields)
    return False


def _has_directives(document: DocumentNode) -> bool:
    """@skip and @include depend on variables; such documents take the normal path."""
    found: list[DirectiveNode] = []

    class Finder(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            found.append(node)

    visit(document, Finder())
    return bool(found)


class _Compiler:
    def __init__(
        self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], names: Any
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._names = names
        #: The Python names of the fields and resolvers the selection reads, by type name.
        self.reads: dict[str, set[str]] = {}

    def collect(
        self, parent: GraphQLObjectType, selection_sets: Iterable[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        """Fields by response key, in document order, through fragments whose type condition
        ``parent`` meets (the document is valid, so spreads are acyclic)."""
        fields: dict[str, list[FieldNode]] = {}
        for selection_set in selection_sets:
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    fields.setdefault(key, []).append(selection)
                    continue
                if isinstance(selection, FragmentSpreadNode):
                    fragment: InlineFragmentNode | FragmentDefinitionNode = self._fragments[
                        selection.name.value
                    ]
                else:
                    assert isinstance(selection, InlineFragmentNode)
                    fragment = selection
                if self._applies(fragment, parent):
                    for key, nodes in self.collect(parent, [fragment.selection_set]).items():
                        fields.setdefault(key, []).extend(nodes)
        return fields

    def _applies(
        self, fragment: InlineFragmentNode | FragmentDefinitionNode, parent: GraphQLObjectType
    ) -> bool:
        if fragment.type_condition is None:
            return True
        condition = self._schema.get_type(fragment.type_condition.name.value)
        if condition is parent:
            return True
        return is_abstract_type(condition) and self._schema.is_sub_type(condition, parent)  # type: ignore[arg-type]

    def strawberry_field(self, parent: GraphQLObjectType, name: str) -> StrawberryField:
        definition: StrawberryObjectDefinition = parent.extensions["strawberry-definition"]
        for field in definition.fields:
            if self._names.get_graphql_name(field) == name:
                return field
        raise _NotCompilableError(f"{parent.name}.{name} has no strawberry field")

    def value(self, field_type: GraphQLOutputType, nodes: list[FieldNode]) -> Render:
        """How to turn a Python value of ``field_type`` into its JSON value."""
        if isinstance(field_type, GraphQLNonNull):
            if is_leaf_type(field_type.of_type):  # one call for the commonest field
                return _leaf(field_type.of_type, non_null=True)  # type: ignore[arg-type]
            if isinstance(field_type.of_type, GraphQLObjectType):  # one call for an object
                return self.object(
                    field_type.of_type,
                    [n.selection_set for n in nodes if n.selection_set],
                    non_null=True,
                )
            inner = self.value(field_type.of_type, nodes)

            def non_null(value: Any) -> Any:
                if value is None:
                    raise _NotCompilableError("null for a non-null field")
                return inner(value)

            return non_null
        if isinstance(field_type, GraphQLList):
            item = self.value(field_type.of_type, nodes)
            return lambda value: None if value is None else [item(v) for v in value]
        if is_leaf_type(field_type):
            return _leaf(field_type)  # type: ignore[arg-type]
        selection_sets = [n.selection_set for n in nodes if n.selection_set]
        if isinstance(field_type, GraphQLObjectType):
            obj = self.object(field_type, selection_sets)
            return lambda value: None if value is None else obj(value)
        return self._abstract(field_type, selection_sets)

    def _abstract(self, abstract: Any, selection_sets: list[SelectionSetNode]) -> Render:
        by_class: dict[type[Any], Render] = {}
        for possible in self._schema.get_possible_types(abstract):
            definition = possible.extensions["strawberry-definition"]
            by_class[definition.origin] = self.object(possible, selection_sets)
            from_rows = self._row_object(possible, definition.origin, selection_sets)
            if from_rows is not None:
                by_class[definition.origin.ROW_CLASS] = from_rows

        def resolve(value: Any) -> Any:
            if value is None:
                return None
            render = by_class.get(type(value))
            if render is None:
                raise _NotCompilableError(f"no object type for {type(value).__name__}")
            return render(value)

        return resolve

    def object(
        self,
        parent: GraphQLObjectType,
        selection_sets: list[SelectionSetNode],
        *,
        non_null: bool = False,
    ) -> Render:
        """A function from an object of ``parent``'s type to the selected fields' dict;
        ``non_null``: a null is not the schema's answer (the normal path reports it)."""
        parts: list[tuple[str, Render, Render]] = []  # (response key, getter, render)
        for key, nodes in self.collect(parent, selection_sets).items():
            name = nodes[0].name.value
            if name == "__typename":
                type_name = parent.name
                parts.append((key, lambda _value, type_name=type_name: type_name, _same))
                continue
            if any(node.arguments for node in nodes):
                raise _NotCompilableError(f"{parent.name}.{name} has arguments")
            parts.append(
                (key, self._getter(parent, name), self.value(parent.fields[name].type, nodes))
            )

        def build(value: Any) -> dict[str, Any]:
            return {key: render(getter(value)) for key, getter, render in parts}

        def build_non_null(value: Any) -> dict[str, Any]:
            if value is None:
                raise _NotCompilableError(f"null for a non-null {parent.name}")
            return {key: render(getter(value)) for key, getter, render in parts}

        return build_non_null if non_null else build

    def _row_object(
        self, parent: GraphQLObjectType, origin: type[Any], selection_sets: list[SelectionSetNode]
    ) -> Render | None:
        """For a type whose values may come as its geo rows (a ``ROW_TABLE`` and ``ROW_CLASS``,
        api.graphql.projection): a function from such a row to the selected fields' dict, read
        straight from the row (no API object built: the answer in one pass); None when the
        table cannot give every selected field (the resolver then gives API objects)."""
        table = getattr(origin, "ROW_TABLE", None)
        if table is None:
            return None
        parts: list[tuple[str, Render, Render]] = []
        for key, nodes in self.collect(parent, selection_sets).items():
            name = nodes[0].name.value
            if name == "__typename":
                type_name = parent.name
                parts.append((key, lambda _value, type_name=type_name: type_name, _same))
                continue
            field = self.strawberry_field(parent, name)
            if any(node.arguments for node in nodes) or field.extensions:
                return None
            if not table.readable([field.python_name]):
                return None
            parts.append(
                (key, table.reader(field.python_name), self.value(parent.fields[name].type, nodes))
            )

        def build(row: Any) -> dict[str, Any]:
            return {key: render(read(row)) for key, read, render in parts}

        return build

    def _getter(self, parent: GraphQLObjectType, name: str) -> Render:
        """The field's value from its object: an attribute, or a resolver of the object alone
        (no arguments, no info, not async); anything else is the normal path's."""
        field = self.strawberry_field(parent, name)
        self.reads.setdefault(parent.name, set()).add(field.python_name)
        if field.extensions:
            raise _NotCompilableError(f"{parent.name}.{name} has field extensions")
        resolver = field.base_resolver
        if resolver is None:
            return attrgetter(field.python_name)
        if resolver.is_async or list(resolver.signature.parameters) != ["self"]:
            raise _NotCompilableError(f"{parent.name}.{name} needs a resolver")
        function = resolver.wrapped_func
        return lambda value: function(value)


def _same(value: Any) -> Any:
    return value


def _leaf(leaf: GraphQLLeafType, *, non_null: bool = False) -> Render:
    """The leaf's serializer, with a shortcut for the values it returns unchanged (the common
    case: a str for String, a finite float for Float, …) and a table for enum members;
    ``non_null``: a null is not the schema's answer (the normal path reports it)."""
    serialize = leaf.serialize
    exact = _EXACT_TYPES.get(leaf.name)
    unchanged = _UNCHANGED.get(leaf.name)
    names = _enum_names(leaf)
    if leaf.name == "Float":
        return _float(leaf, non_null=non_null)

    def render(value: Any) -> Any:
        if type(value) is exact:  # str for String and ID, bool for Boolean: as they are
            return value
        if value is None:
            if non_null:
                raise _NotCompilableError(f"null for a non-null {leaf.name}")
            return None
        if unchanged is not None and unchanged(value):
            return value
        if names is not None and value in names:
            return names[value]
        serialized = serialize(value)
        if serialized is None:
            raise _NotCompilableError(f"{leaf.name} serialized to null")
        return serialized

    return render


def _float(leaf: GraphQLLeafType, *, non_null: bool) -> Render:
    """Float's render: a finite float as it is (most of a near-me answer's numbers: lat, lon,
    distance), anything else through the leaf's serializer."""
    serialize = leaf.serialize

    def render(value: Any) -> Any:
        if type(value) is float and math.isfinite(value):
            return value
        if value is None:
            if non_null:
                raise _NotCompilableError("null for a non-null Float")
            return None
        serialized = serialize(value)
        if serialized is None:
            raise _NotCompilableError("Float serialized to null")
        return serialized

    return render


_INT_RANGE = range(-(2**31), 2**31)
#: Values graphql-core's built-in scalars serialize to themselves (checked by a test).
_UNCHANGED: dict[str, Callable[[Any], bool]] = {
    "String": lambda v: type(v) is str,
    "ID": lambda v: type(v) is str,
    "Boolean": lambda v: type(v) is bool,
    "Int": lambda v: type(v) is int and v in _INT_RANGE,
    "Float": lambda v: type(v) is float and math.isfinite(v),
}
#: The scalars whose every value of one type is unchanged (the first test of :func:`_leaf`).
_EXACT_TYPES: dict[str, type] = {"String": str, "ID": str, "Boolean": bool}


def _enum_names(leaf: GraphQLLeafType) -> dict[Any, str] | None:
    """Each member of a strawberry enum and what the schema serializes it to."""
    if not isinstance(leaf, GraphQLEnumType):
        return None
    definition = leaf.extensions.get("strawberry-definition")
    wrapped = getattr(definition, "wrapped_cls", None)
    if wrapped is None:
        return None
    return {member: leaf.serialize(member) for member in wrapped}
