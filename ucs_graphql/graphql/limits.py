"""What a GraphQL document asks for, measured in time linear in the document, and the limits on it.

A document's fragments may spread other fragments, so the document it expands to can be exponentially
larger than its text (`fragment F0 { ...F1 ...F1 }`, `fragment F1 { ...F2 ...F2 }`...). Every figure here
is computed on the text: each fragment is measured once, after the fragments it spreads, and a spread adds
the measure of its fragment. The figures saturate at `CAP`, so no number grows with the expansion.

Per operation (and per fragment):

- depth: the nesting of fields that have a selection (introspection fields `__x` do not count), as
  Strawberry's QueryDepthLimiter counts it;
- aliases: aliased fields of the expanded selection, as Strawberry's MaxAliasesLimiter counts them;
- selections: fields, fragment spreads and inline fragments of the expanded selection;
- cost: the values the answer may hold: a field costs 1 plus, for an object, its selection's cost, times the
  list's size for a list. A list's size is its `first`, `last` or `limit` argument, else the length of a
  list argument named `ids` or `…Ids` (`profiles(customerIds: […])`, `nodes(ids: […])`), else that
  argument's default in the schema, else `default_list_size`. A cursor connection
  (`services(first: 10) { edges { node } }`) is sized by its `first` like a list, and its `edges` count once.

Sizes given by variables are known only with a request's variables: measured without them (`variables`
None) they count 0 and the measure says `sized_by_variables`, so a request's own figures must be measured
again with its variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from ucs_graphql.kit.errors import OverLimit

CAP = 1 << 53
"""Figures saturate here: larger than any limit, small enough for cheap arithmetic."""

SIZE_ARGUMENTS = ("first", "last", "limit")


@dataclass(frozen=True, slots=True)
class Measure:
    """The figures of one operation or fragment (see the module docstring)."""

    depth: int = 0
    aliases: int = 0
    selections: int = 0
    cost: int = 0
    sized_by_variables: bool = False


@dataclass(frozen=True, slots=True)
class DocumentMeasure:
    """The figures of a document: each operation's (by name, None for an anonymous one), and the expanded
    selections of every definition together (what validation walks)."""

    operations: dict[str | None, Measure]
    selections: int

    @property
    def sized_by_variables(self) -> bool:
        return any(m.sized_by_variables for m in self.operations.values())

    @property
    def aliases(self) -> int:
        """Aliases of every operation together (Strawberry's MaxAliasesLimiter counts the document)."""
        return _sat(sum(m.aliases for m in self.operations.values()))

    def operation(self, name: str | None) -> Measure:
        """The figures of the operation a request names; the largest of any when it names none (or one the
        document lacks, which validation refuses)."""
        found = self.operations.get(name) if name is not None else None
        if found is not None:
            return found
        if not self.operations:
            return Measure()
        return Measure(depth=max(m.depth for m in self.operations.values()),
                       aliases=max(m.aliases for m in self.operations.values()),
                       selections=max(m.selections for m in self.operations.values()),
                       cost=max(m.cost for m in self.operations.values()),
                       sized_by_variables=self.sized_by_variables)


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits a document and a request's variables must keep (from Settings)."""

    max_depth: int
    max_aliases: int
    max_selections: int
    max_cost: int
    default_list_size: int
    max_list_items: int
    max_variable_values: int


def _sat(n: int) -> int:
    return n if n < CAP else CAP


def measure(schema: GraphQLSchema, document: DocumentNode, default_list_size: int,
            variables: Mapping[str, Any] | None = None) -> DocumentMeasure:
    """The figures of `document` (see the module docstring), in one pass over its text."""
    return _Measurer(schema, document, default_list_size, variables).run()


class _Acc:
    """The running figures of one selection set."""

    __slots__ = ("aliases", "cost", "depth", "selections", "sized")

    def __init__(self) -> None:
        self.depth = 0
        self.aliases = 0
        self.selections = 0
        self.cost = 0
        self.sized = False

    def add(self, depth: int, aliases: int, selections: int, cost: int, sized: bool) -> None:
        if depth > self.depth:
            self.depth = depth
        self.aliases = _sat(self.aliases + aliases)
        self.selections = _sat(self.selections + selections)
        self.cost = _sat(self.cost + cost)
        self.sized = self.sized or sized

    def as_measure(self) -> Measure:
        return Measure(self.depth, self.aliases, self.selections, self.cost, self.sized)


class _Measurer:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, default_list_size: int,
                 variables: Mapping[str, Any] | None) -> None:
        self.schema = schema
        self.document = document
        self.default_list_size = default_list_size
        self.variables = variables
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        self.done: dict[str, Measure] = {}
        # The default values of the variables of the definition being measured.
        self.var_defaults: dict[str, Any] = {}

    def run(self) -> DocumentMeasure:
        operations: list[OperationDefinitionNode] = []
        for definition in self.document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                self.fragments.setdefault(definition.name.value, definition)
            elif isinstance(definition, OperationDefinitionNode):
                operations.append(definition)
        # Fragments take the defaults of every operation's variables (a document usually has one).
        self.var_defaults = {
            v.variable.name.value: v.default_value for operation in operations
            for v in operation.variable_definitions or () if v.default_value is not None}
        total = 0
        for name in self._fragment_order():
            fragment = self.fragments[name]
            parent = self._type_named(fragment.type_condition.name.value)
            self.done[name] = found = self._selection_set(fragment.selection_set, parent)
            total = _sat(total + found.selections)
        measured: dict[str | None, Measure] = {}
        for operation in operations:
            self.var_defaults = {
                v.variable.name.value: v.default_value for v in operation.variable_definitions or ()
                if v.default_value is not None}
            root = self.schema.get_root_type(operation.operation)
            found = self._selection_set(operation.selection_set, root)
            measured.setdefault(operation.name.value if operation.name else None, found)
            total = _sat(total + found.selections)
        return DocumentMeasure(measured, total)

    def _type_named(self, name: str) -> GraphQLNamedType | None:
        return self.schema.type_map.get(name)

    def _fragment_order(self) -> list[str]:
        """Fragment names, each after the fragments it spreads (a spread inside a cycle is met before its
        fragment is measured, and then counts nothing; validation refuses cycles)."""
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = being visited, 2 = placed
        for start in self.fragments:
            if start in state:
                continue
            state[start] = 1
            stack = [(start, iter(_spreads(self.fragments[start].selection_set)))]
            while stack:
                name, pending = stack[-1]
                for spread in pending:
                    if spread in self.fragments and spread not in state:
                        state[spread] = 1
                        stack.append((spread, iter(_spreads(self.fragments[spread].selection_set))))
                        break
                else:
                    stack.pop()
                    state[name] = 2
                    order.append(name)
        return order

    def _selection_set(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> Measure:
        """The figures of a selection set, its nested selections walked with a stack (never recursion)."""
        # Pre-order list of (node, parent type, index of the enclosing entry); then folded in reverse.
        entries: list[tuple[Any, GraphQLNamedType | None, int]] = []
        stack: list[tuple[Any, GraphQLNamedType | None, int]] = [
            (s, parent, -1) for s in reversed(selection_set.selections)]
        fields: dict[int, GraphQLField | None] = {}
        while stack:
            node, parent_type, up = stack.pop()
            index = len(entries)
            entries.append((node, parent_type, up))
            child_type: GraphQLNamedType | None = None
            if isinstance(node, FieldNode):
                field = fields[index] = _field(self.schema, parent_type, node.name.value)
                child_type = get_named_type(field.type) if field is not None else None
            elif isinstance(node, InlineFragmentNode):
                child_type = (self._type_named(node.type_condition.name.value) if node.type_condition
                              else parent_type)
            else:
                continue
            if node.selection_set is not None:
                stack.extend((s, child_type, index) for s in reversed(node.selection_set.selections))
        accs: dict[int, _Acc] = {}
        top = _Acc()
        for index in range(len(entries) - 1, -1, -1):
            node, parent_type, up = entries[index]
            target = accs.setdefault(up, _Acc()) if up >= 0 else top
            inner = accs.pop(index, None)
            if isinstance(node, FragmentSpreadNode):
                found = self.done.get(node.name.value)
                if found is None:
                    target.add(0, 0, 1, 0, False)
                else:
                    target.add(found.depth, found.aliases, _sat(found.selections + 1), found.cost,
                               found.sized_by_variables)
                continue
            sub = inner.as_measure() if inner is not None else Measure()
            if isinstance(node, InlineFragmentNode):
                target.add(sub.depth, sub.aliases, _sat(sub.selections + 1), sub.cost, sub.sized_by_variables)
                continue
            field = fields[index]
            depth = 0 if node.selection_set is None or node.name.value.startswith("__") else sub.depth + 1
            size, sized = 1, False
            kind = get_nullable_type(field.type) if field is not None else None
            if field is not None and (_is_connection(kind) or (isinstance(kind, GraphQLList)
                                      and not _is_connection(parent_type))):
                size, sized = self._size(node, field)
            target.add(depth, sub.aliases + (node.alias is not None), _sat(sub.selections + 1),
                       _sat(1 + _sat(size * sub.cost)), sized or sub.sized_by_variables)
        return top.as_measure()

    def _size(self, node: FieldNode, field: GraphQLField) -> tuple[int, bool]:
        """A list field's size and whether a variable gives it."""
        given = {a.name.value: a.value for a in node.arguments or ()}
        for name in SIZE_ARGUMENTS:
            if name in field.args:
                return self._value_size(given.get(name), field, name, count=False)
        for name in field.args:
            if name == "ids" or name.endswith("Ids"):
                return self._value_size(given.get(name), field, name, count=True)
        return self.default_list_size, False

    def _value_size(self, value: Any, field: GraphQLField, name: str, count: bool) -> tuple[int, bool]:
        sized = False
        if isinstance(value, VariableNode):
            sized = True
            var = value.name.value
            if self.variables is None:
                return 0, True  # known with a request's variables only
            if var in self.variables:
                got = self.variables[var]
                if count and isinstance(got, list):
                    return len(got), True
                if not count and isinstance(got, int) and not isinstance(got, bool):
                    return max(got, 0), True
                if got is not None:
                    return self.default_list_size, True  # refused by coercion
                value = None
            else:
                value = self.var_defaults.get(var)
        if count and isinstance(value, ListValueNode):
            return len(value.values), sized
        if not count and isinstance(value, IntValueNode):
            return max(int(value.value), 0), sized
        default = field.args[name].default_value
        if count and isinstance(default, list | tuple):
            return len(default), sized
        if not count and isinstance(default, int) and not isinstance(default, bool):
            return max(default, 0), sized
        return self.default_list_size, sized


def _is_connection(kind: Any) -> bool:
    """A cursor connection's type: its field counts its page (`first`) and its `edges` list counts 1."""
    return isinstance(kind, GraphQLObjectType) and kind.name.endswith("Connection") and "edges" in kind.fields


def _field(schema: GraphQLSchema, parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if name == "__schema" and parent is schema.query_type:
        return SchemaMetaFieldDef
    if name == "__type" and parent is schema.query_type:
        return TypeMetaFieldDef
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return parent.fields.get(name)
    return None


def _spreads(selection_set: SelectionSetNode) -> list[str]:
    """The names of the fragments a selection set spreads, at any depth (not through other fragments)."""
    out: list[str] = []
    stack = list(selection_set.selections)
    while stack:
        node = stack.pop()
        if isinstance(node, FragmentSpreadNode):
            out.append(node.name.value)
        elif isinstance(node, FieldNode | InlineFragmentNode) and node.selection_set is not None:
            stack.extend(node.selection_set.selections)
    return out


# -- refusals ----------------------------------------------------------------------------------------------

def document_refusals(found: DocumentMeasure, limits: Limits) -> list[GraphQLError]:
    """Why a document is refused before validation (empty when it is not): graphql-core's rules that do
    not run in linear time only ever see documents within these limits."""
    if found.selections > limits.max_selections:
        return [_over(f"the document selects {_shown(found.selections)} fields and fragments when its fragments "
                      f"are expanded; at most {limits.max_selections} are allowed")]
    errors: list[GraphQLError] = []
    for name, m in found.operations.items():
        if m.depth > limits.max_depth:
            # Worded as Strawberry's QueryDepthLimiter, which this replaces.
            errors.append(GraphQLError(f"'{name or 'anonymous'}' exceeds maximum operation depth of "
                                       f"{limits.max_depth}"))
    if found.aliases > limits.max_aliases:
        errors.append(GraphQLError(f"{_shown(found.aliases)} aliases found. Allowed: {limits.max_aliases}"))
    if not errors:
        errors.extend(_cost_refusals(found, None, limits))
    return errors


def request_refusals(schema: GraphQLSchema, document: DocumentNode, found: DocumentMeasure,
                     operation_name: str | None, variables: Mapping[str, Any] | None,
                     limits: Limits) -> list[GraphQLError]:
    """Why a request running `document` (which passed `document_refusals` and validation) with these
    variables is refused: its variables' lists and values, and the cost of the operation it runs."""
    refused = variables_refusal(variables, limits)
    if refused is not None:
        return [refused]
    if not found.sized_by_variables:
        return []
    sized = measure(schema, document, limits.default_list_size, variables or {})
    return _cost_refusals(sized, operation_name, limits)


def _cost_refusals(found: DocumentMeasure, operation_name: str | None, limits: Limits) -> list[GraphQLError]:
    m = found.operation(operation_name)
    if m.cost > limits.max_cost:
        return [_over(f"the operation may ask for {_shown(m.cost)} values (a list without a first, last or limit "
                      f"argument counts {limits.default_list_size} items); at most {limits.max_cost} are "
                      "allowed")]
    return []


def variables_refusal(variables: Any, limits: Limits) -> GraphQLError | None:
    """Why a request's variables are refused: a list longer than `max_list_items`, or more than
    `max_variable_values` values in all (lists and objects at any depth); None when they are not."""
    if not variables:
        return None
    budget = limits.max_variable_values
    stack = [variables]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            if len(value) > limits.max_list_items:
                return _over(f"a list in the variables has {len(value)} items; at most {limits.max_list_items} "
                             "are allowed")
            budget -= len(value)
            stack.extend(v for v in value if isinstance(v, list | dict))
        elif isinstance(value, dict):
            budget -= len(value)
            stack.extend(v for v in value.values() if isinstance(v, list | dict))
        if budget < 0:
            return _over(f"the variables hold more than {limits.max_variable_values} values")
    return None


def _over(message: str) -> GraphQLError:
    return GraphQLError(message, original_error=OverLimit(message))


def _shown(n: int) -> str:
    return f"more than {CAP - 1}" if n >= CAP else str(n)
