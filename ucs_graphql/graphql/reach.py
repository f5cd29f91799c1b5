"""What a GraphQL document reaches, checked against the caller's tasks before anything of it runs.

One walk of the operation's selection set (each named fragment walked once and memoised) collects what
reading each selected field needs (ucs_graphql.graphql.reads; root fields their `HasTask`): a set of
requirements (field coordinate, tasks of which one is needed, tasks granted above it). Below `node` and
`nodes` the walk reads the global ids (literal, or from the variables): the field needs the read task of
each type they name, and only the fragments that can apply to those types are walked. A caller who lacks
one gets the whole document refused with Forbidden, naming every refused field: no mutation runs, so none
commits and then answers null. The Strawberry path (HTTP and WebSocket, queries, mutations and
subscriptions) checks in `Reach.on_execute`; a compiled plan checks before it runs (`plan_allowed`) and
leaves a refused request to the Strawberry path, which renders the refusal.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
    is_abstract_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.permission import PermissionExtension

from ucs_graphql.access.gate import principal_of
from ucs_graphql.graphql.compiled import has_variable
from ucs_graphql.graphql.permissions import HasTask, PerNode
from ucs_graphql.graphql.reads import FIELDS, FREE, ROOT_GRANTS, Read
from ucs_graphql.kit.errors import Forbidden, UcsError, Unauthenticated

Requirement = tuple[str, frozenset[str], frozenset[str]]
"""(field coordinate "Type.field", tasks of which the caller needs one, tasks granted above the field)."""

_NOTHING: frozenset[str] = frozenset()


@dataclass
class Needs:
    """What one operation reaches: its requirements, and whether they depend on variable values (a root field
    whose task follows an argument given as a variable)."""

    requirements: frozenset[Requirement]
    by_variables: bool = False
    _refused: dict[frozenset[str], tuple[tuple[str, frozenset[str]], ...]] = field(default_factory=dict)

    def refused(self, held: frozenset[str]) -> tuple[tuple[str, frozenset[str]], ...]:
        """(coordinate, tasks of which one is needed) of every field a caller holding `held` may not read."""
        got = self._refused.get(held)
        if got is None:
            got = tuple(sorted({(where, tasks) for where, tasks, granted in self.requirements
                                if not (tasks & held or tasks & granted)}, key=lambda r: r[0]))
            if len(self._refused) < 64:
                self._refused[held] = got
        return got


def root_read(field_def: GraphQLField) -> HasTask | None:
    """The HasTask a root field declares (None for fields without one, e.g. introspection)."""
    definition = (field_def.extensions or {}).get("strawberry-definition")
    for ext in getattr(definition, "extensions", ()) or ():
        if isinstance(ext, PermissionExtension):
            for permission in ext.permissions:
                if isinstance(permission, HasTask):
                    return permission
    return None


class _Walk:
    """One walk of an operation (see the module docstring): linear in the document, fragments once."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                 variables: Mapping[str, Any] | None) -> None:
        self.schema = schema
        self.operation = operation
        self.inputs = dict(variables or {})
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.memo: dict[str, frozenset[Requirement]] = {}
        self.roots = {t for t in (schema.query_type, schema.mutation_type, schema.subscription_type) if t}
        self.by_variables = False
        self._variables: VariableValues | bool | None = False  # False: not coerced yet; None: they do not coerce

    def needs(self) -> Needs:
        root = self.schema.get_root_type(self.operation.operation)
        found = self.selection(root, self.operation.selection_set) if root is not None else set()
        return Needs(frozenset(found), self.by_variables)

    def selection(self, parent: GraphQLNamedType | None, selection_set: SelectionSetNode | None
                  ) -> set[Requirement]:
        out: set[Requirement] = set()
        if parent is None or selection_set is None:
            return out
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                out |= self.field(parent, node)
            elif isinstance(node, InlineFragmentNode):
                cond = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                if self.overlaps(cond, parent):
                    out |= self.selection(cond, node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                definition = self.fragments.get(node.name.value)
                if definition is not None and self.overlaps(
                        self.schema.get_type(definition.type_condition.name.value), parent):
                    out |= self.fragment(node.name.value)
        return out

    def overlaps(self, condition: GraphQLNamedType | None, parent: GraphQLNamedType) -> bool:
        """Whether a fragment on `condition` can apply to an object of `parent` (validation refuses those
        that cannot below a field's own type; below `node` the parent is the type its id names)."""
        if condition is None or condition is parent:
            return condition is not None
        return bool(self._possible(condition) & self._possible(parent))

    def _possible(self, named: GraphQLNamedType) -> set[str]:
        if is_abstract_type(named):
            return {t.name for t in self.schema.get_possible_types(named)}
        return {named.name}

    def fragment(self, name: str) -> frozenset[Requirement]:
        got = self.memo.get(name)
        if got is None:
            self.memo[name] = frozenset()  # a cycle (which validation refuses) ends here
            definition = self.fragments.get(name)
            if definition is None:
                return frozenset()
            parent = self.schema.get_type(definition.type_condition.name.value)
            got = self.memo[name] = frozenset(self.selection(parent, definition.selection_set))
        return got

    def field(self, parent: GraphQLNamedType, node: FieldNode) -> set[Requirement]:
        name = node.name.value
        fields = getattr(parent, "fields", None)
        if name.startswith("__") or not fields or name not in fields:
            return set()  # introspection (its own setting), or a field validation refuses
        field_def: GraphQLField = fields[name]
        below_types: tuple[GraphQLNamedType | None, ...] = (get_named_type(field_def.type),)
        if parent in self.roots:
            reads, named = self.root_reads(parent.name, name, field_def, node)
            below_types = below_types if named is None else tuple(self.schema.get_type(n) for n in named)
        else:
            reads = (FIELDS.get(parent.name, {}).get(name, _UNDECLARED),)
        where = f"{parent.name}.{name}"
        out: set[Requirement] = {(where, read.tasks, _NOTHING) for read in reads if read.tasks}
        if node.selection_set is not None:
            below: set[Requirement] = set()
            for below_type in below_types:
                below |= self.selection(below_type, node.selection_set)
            grants = frozenset().union(*(read.grants for read in reads))
            if grants:
                below = {(where, tasks, granted | grants) for where, tasks, granted in below}
            out |= below
        return out

    def root_reads(self, root: str, name: str, field_def: GraphQLField, node: FieldNode
                   ) -> tuple[tuple[Read, ...], tuple[str, ...] | None]:
        """What a root field needs (each of the reads), and the types of object it returns when its
        arguments name them (the global ids of `node` and `nodes`; None: its declared type)."""
        grants = ROOT_GRANTS.get((root, name), FREE).grants
        permission = root_read(field_def)
        if permission is None:
            return (_UNDECLARED,), None
        if permission.task is not None:
            return (Read(frozenset({permission.task}), grants=grants),), None
        if permission.arg is None:  # SignedIn: no task (the check of credentials is `_held`'s)
            return (Read(grants=grants),), None
        args = self.arguments(permission, field_def, node)
        try:
            if args is None:
                raise LookupError
            tasks = permission.tasks_for(args)
            named = permission.types_for(args) if isinstance(permission, PerNode) else None
        except (GraphQLError, UcsError, LookupError, TypeError):
            # The value does not coerce or names nothing: the field fails before it runs anything below
            # (and its HasTask still checks whatever would run). A node id that names no type reaches nothing.
            return (Read(grants=grants),), (() if isinstance(permission, PerNode) else None)
        return tuple(Read(frozenset({task}), grants=grants) for task in tasks) or (Read(grants=grants),), named

    def arguments(self, permission: HasTask, field_def: GraphQLField, node: FieldNode) -> dict[str, Any] | None:
        """The argument a root field's task depends on, as its resolver gets it; None when the values do
        not coerce."""
        given = next((a for a in node.arguments or () if a.name.value == permission.arg), None)
        if given is not None and has_variable(given.value):
            self.by_variables = True
        variables = self.variable_values()
        if variables is None:
            return None
        try:
            args = get_argument_values(field_def, node, variables)
        except GraphQLError:
            return None
        assert permission.arg is not None
        return {permission.arg: args[permission.arg]} if permission.arg in args else None

    def variable_values(self) -> VariableValues | None:
        if self._variables is False:
            got = get_variable_values(self.schema, self.operation.variable_definitions or (), self.inputs)
            self._variables = got if isinstance(got, VariableValues) else None
        return self._variables if isinstance(self._variables, VariableValues) else None


_UNDECLARED = Read(frozenset({"(a field with no declared read rule)"}))
"""Refused to everyone: a field missing from the read rules is never served (a test lists such fields)."""


def needs_of(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
             variables: Mapping[str, Any] | None) -> Needs:
    """What `operation` of `document` reaches with these variables."""
    return _Walk(schema, document, operation, variables).needs()


def _held(context: Any) -> frozenset[str] | None:
    """The caller's tasks; None when the server runs open (no task is checked)."""
    if context.ctx.rt.parts.get("authorize_task") is None:
        return None
    principal = principal_of(context.request)
    if principal is None:
        raise Unauthenticated("credentials are missing: send HTTP Basic credentials or 'Authorization: Bearer "
                              "<token>'")
    return principal.tasks


def refusal(context: Any, refused: tuple[tuple[str, frozenset[str]], ...]) -> Forbidden:
    """The Forbidden error that names every refused field and the tasks of which it needs one."""
    principal = principal_of(context.request)
    who = f"user '{principal.name}'" if principal is not None else "the caller"
    parts = [f"{where} (needs {' or '.join(repr(t) for t in sorted(tasks))})" for where, tasks in refused]
    return Forbidden(f"{who} may not read {', '.join(parts)}: the document is refused whole and nothing of it "
                     "ran")


def check(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
          variables: Mapping[str, Any] | None, context: Any) -> None:
    """Raise Forbidden (Unauthenticated without a caller) when the caller may not read all the operation
    selects; nothing when the server runs open or the operation is not found (execution reports that)."""
    held = _held(context)
    if held is None:
        return
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return
    refused = needs_of(schema, document, operation, variables).refused(held)
    if refused:
        raise refusal(context, refused)


def plan_allowed(plan: Any, context: Any, variables: Mapping[str, Any] | None) -> bool:
    """Whether a compiled plan may run for this caller; False leaves the request to the full path, which
    refuses it (or asks for credentials)."""
    try:
        held = _held(context)
    except Unauthenticated:
        return False
    if held is None:
        return True
    needs: Needs | None = plan.needs
    if needs is None or needs.by_variables:
        needs = needs_of(plan.schema, plan.document, plan.operation, variables)
        if not needs.by_variables:
            plan.needs = needs
    return not needs.refused(held)


class Reach(SchemaExtension):
    """The check of the Strawberry path: after validation, before any resolver runs."""

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.graphql_document is not None:
            check(ec.schema._schema, ec.graphql_document, ec.operation_name, ec.variables, ec.context)
        yield
