"""Compiled execution of the plain query documents clients send again and again.

A query document is parsed and validated once per (query text, operation name), with the same token
limit and validation rules as the schema's own pipeline, and turned into a plan: for every selected
field, its resolver, its arguments and how its value is completed. A request then only coerces its
variables and runs the plan, without Strawberry's per-request extension runner, middleware manager and
execution context, graphql-core's field collection, or Strawberry's per-call argument name conversion.

Only what such a plan can answer exactly as the full path would is compiled: one query operation (never
a mutation or subscription) made of fields on object types and interfaces (lists and non-null allowed),
arguments, variables and `__typename`, without fragments, directives, aliases repeating a response key,
unions, introspection or validation errors. Anything else keeps the full path (None from `Plans.get`).
An object type implementing an interface (`Node`) is compiled where a field returns it too: the plan checks
each of its objects as graphql-core does (Strawberry's own `is_type_of`).

A compiled run answers only complete successes. Whatever else happens — a variable that does not
coerce, a resolver or permission error, a null for a non-null field, a refused permission — raises
`Fallback`, and the request is answered by the full path from the start; this is safe because queries
only read. Errors therefore keep their exact messages, locations, paths and extensions, rendered in one
place. The full path goes on with the failed run's context (finding what its loaders read) only when the
plan never runs two resolvers at once (`Plan.shares_context`): otherwise it starts with a fresh one, since
what was already read changes which of two racing errors comes first.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable
from enum import Enum
from types import CoroutineType, GeneratorType
from typing import Any, cast

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    is_leaf_type,
)
from graphql.execution.get_variable_signature import GraphQLVariableSignature, get_variable_signature
from graphql.execution.values import (
    VariableValues,
    VariableValueSource,
    coerce_argument,
    get_argument_values,
    get_variable_values,
)
from graphql.language import ArgumentNode, ListValueNode, ObjectValueNode, SelectionSetNode, ValueNode, VariableNode
from graphql.pyutils import Path, Undefined, is_iterable
from graphql.type.introspection import TypeNameMetaFieldDef
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import PermissionExtension
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo as ResolveInfo
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryObjectDefinition, StrawberryOptional
from strawberry.types.cast import get_strawberry_type_cast
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver

from ucs_graphql.graphql.gather import gather_with_cancel, retrieve
from ucs_graphql.kit.errors import UcsError
from ucs_graphql.kit.sized_cache import SizedCache

__all__ = ["Fallback", "Plan", "Plans"]

STRAWBERRY = "strawberry-definition"
Completer = Callable[[Any, Path, "_Run"], Any]


class Fallback(Exception):
    """This request needs the full execution path. `unexpected` when the plan itself failed (an error that is
    neither a resolver's refusal nor a GraphQL error: a bug, or an interface of Strawberry or graphql-core that
    changed), which the server logs and counts apart."""

    def __init__(self, unexpected: bool = False) -> None:
        super().__init__()
        self.unexpected = unexpected


class _Run:
    """One request's state: the context, the coerced variables, and what a field given its value directly
    read for the fields below it (`Plan.give`)."""

    __slots__ = ("context", "read", "variables")

    def __init__(self, context: Any, variables: VariableValues) -> None:
        self.context = context
        self.variables = variables
        self.read: Any = None


class _Field:
    """One selected field: how to resolve it on its parent and complete its value."""

    __slots__ = ("basic", "check", "children", "complete", "convert", "direct", "field_def", "info_param",
                 "items_pathless", "key", "leaf", "listed", "name", "nodes", "parent", "pathless", "per_request_args",
                 "python_name", "resolver", "self_param", "source_params", "static_args", "strawberry", "typename",
                 "waits")

    def __init__(self, key: str, node: FieldNode, parent: GraphQLObjectType) -> None:
        self.key = key
        self.name = node.name.value
        self.nodes = [node]
        self.parent = parent
        self.typename = self.name == "__typename"
        self.field_def: GraphQLField = TypeNameMetaFieldDef
        self.strawberry: StrawberryField | None = None
        self.python_name = ""
        self.basic = False
        self.complete: Completer = _unset
        self.resolver: Callable[..., Any] = _unset
        self.check: tuple[Any, ...] = ()
        self.self_param = False
        self.source_params: tuple[str, ...] = ()
        self.info_param: str | None = None
        self.convert: tuple[tuple[str, str, bool], ...] = ()
        self.static_args: dict[str, Any] = {}
        self.per_request_args: tuple[tuple[str, str, Any, ArgumentNode | None, str | None], ...] | None = ()
        self.children: list[_Field] = []  # the selection on its object type
        self.listed = False  # a list: its items are completed at once
        self.leaf = False  # a scalar or enum (non-null or not): completed without a path, never waits
        self.pathless = False  # no resolver here or below: completed without a path (no resolver reads one)
        self.items_pathless = False  # a list whose items have no resolver below: items completed without paths
        # The resolver's value without a call through Strawberry's interface: (source, run) -> value, for a
        # plain synchronous resolver of the object alone, or given by a specialisation (`Plan.give`); `waits`
        # when it is a coroutine function.
        self.direct: Callable[[Any, _Run], Any] | None = None
        self.waits = False

    @property
    def resolves(self) -> bool:
        """Whether it calls a resolver or waits for its value (and may fail)."""
        return not self.basic and not self.typename and (self.direct is None or self.waits)


def _refuses_nothing(variables: dict[str, Any] | None) -> bool:
    return False


def _unset(*args: Any) -> Any:
    raise Fallback


class Plan:
    """A compiled query operation (see the module docstring)."""

    def __init__(self, schema: Any, document: DocumentNode, operation: OperationDefinitionNode) -> None:
        self.strawberry_schema = schema
        self.schema: GraphQLSchema = schema._schema
        self.document = document
        self.operation = operation
        self.var_defs = operation.variable_definitions or ()
        # When every variable is a String or ID (nullable or not), their signatures; else None.
        string_vars: list[GraphQLVariableSignature] | None = []
        for var_def in self.var_defs:
            signature = get_variable_signature(self.schema, var_def)
            if isinstance(signature, GraphQLError):
                raise _NotCompilable
            named = signature.type.of_type if isinstance(signature.type, GraphQLNonNull) else signature.type
            if named not in (GraphQLString, GraphQLID) or string_vars is None:
                string_vars = None
            else:
                string_vars.append(signature)
        self.string_vars: tuple[GraphQLVariableSignature, ...] | None = (
            tuple(string_vars) if string_vars is not None else None)
        # Whether the limits refuse a request's variables (Plans sets it from the protection's limits).
        self.refuses: Callable[[dict[str, Any] | None], bool] = _refuses_nothing
        self.weight_fields = 0  # the fields of its document, to weigh it in the cache
        root = self.schema.query_type
        if root is None:
            raise _NotCompilable
        self.root = root
        self.fields = self._selection(root, operation.selection_set)
        # Whether the full path may go on with a failed run's context (and what its loaders read): only when
        # no two resolvers of the plan ever run at once. Otherwise what was read changes the order in which
        # they finish, and so which error the full path reports (the first of two racing ones).
        self.shares_context = _one_at_a_time(self.fields)
        # What the operation reaches, kept by `reach.plan_allowed` when it does not depend on variables.
        self.needs: Any = None

    # -- compiling -----------------------------------------------------------------------------------------

    def _selection(self, parent: GraphQLObjectType, selection_set: SelectionSetNode | None) -> list[_Field]:
        if selection_set is None:
            raise _NotCompilable
        out: list[_Field] = []
        keys: set[str] = set()
        for node in selection_set.selections:
            if not isinstance(node, FieldNode) or node.directives:
                raise _NotCompilable
            key = node.alias.value if node.alias else node.name.value
            if key in keys:
                raise _NotCompilable
            keys.add(key)
            out.append(self._field(parent, node, key))
        return out

    def _field(self, parent: GraphQLObjectType, node: FieldNode, key: str) -> _Field:
        f = _Field(key, node, parent)
        if f.typename:
            if node.arguments or node.selection_set:
                raise _NotCompilable
            return f
        if f.name.startswith("__"):
            raise _NotCompilable
        field_def = parent.fields.get(f.name)
        if field_def is None:
            raise _NotCompilable
        f.field_def = field_def
        sfield = field_def.extensions.get(STRAWBERRY)
        if (not isinstance(sfield, StrawberryField) or not callable(field_def.resolve)
                or type(sfield).get_result is not StrawberryField.get_result):
            raise _NotCompilable
        f.strawberry = sfield
        f.python_name = sfield.python_name
        f.basic = getattr(field_def.resolve, "_is_default", False) and sfield.is_basic_field
        if f.basic:
            if field_def.args or node.arguments:
                raise _NotCompilable
        else:
            self._resolver(f, sfield, field_def, node)
        f.complete = self._completer(field_def.type, node, f)
        named = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
        f.leaf = is_leaf_type(named)
        f.pathless = _pathless(f)
        return f

    def _resolver(self, f: _Field, sfield: StrawberryField, field_def: GraphQLField, node: FieldNode) -> None:
        resolver = sfield.base_resolver
        if (resolver is None or type(resolver).__call__ is not StrawberryResolver.__call__
                or sfield.is_subscription or sfield.is_graphql_generic):
            raise _NotCompilable
        checks: list[Any] = []
        for ext in sfield.extensions:
            # Only the permission layer: it checks and then calls the resolver with the same arguments.
            if type(ext) is not PermissionExtension or type(ext).map_arguments is not FieldExtension.map_arguments:
                raise _NotCompilable
            checks.extend(ext.permissions)
        f.check = tuple(checks)
        f.resolver = resolver
        f.self_param = resolver.self_parameter is not None
        f.source_params = tuple(p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p)
        f.info_param = resolver.info_parameter.name if resolver.info_parameter else None
        if (f.self_param and not checks and not f.source_params and f.info_param is None and not sfield.arguments
                and not field_def.args and not resolver.is_async and callable(resolver.wrapped_func)
                and not inspect.isgeneratorfunction(resolver.wrapped_func)):
            # A plain method of the object (a global id, a value computed from its fields): called as the
            # full path calls it, without the resolver protocol around it.
            method = cast(Callable[[Any], Any], resolver.wrapped_func)
            f.direct = lambda source, run: method(source)
        registry = self.strawberry_schema.schema_converter.scalar_registry
        converter = self.strawberry_schema.config.name_converter
        convert: list[tuple[str, str, bool]] = []
        for arg in sfield.arguments:
            kind = _argument_kind(arg.type, registry)
            if kind is None:
                raise _NotCompilable
            convert.append((converter.from_argument(arg), arg.python_name, kind == "list"))
        f.convert = tuple(convert)
        # Arguments are coerced one by one as graphql-core's get_argument_values does: those without
        # variables once here, the ones given as a variable per request.
        # Values that could be changed by a resolver (objects, lists) are coerced anew for every request.
        given = {a.name.value: a for a in node.arguments or ()}
        static: dict[str, Any] = {}
        per_request: list[tuple[str, str, Any, ArgumentNode | None, str | None]] = []
        for name, arg_def in field_def.args.items():
            arg_node = given.get(name)
            out_name = arg_def.out_name or name
            if arg_node is not None and isinstance(arg_node.value, VariableNode):
                per_request.append((name, out_name, arg_def, arg_node, arg_node.value.name.value))
            elif arg_node is not None and has_variable(arg_node.value):
                f.per_request_args = None  # variables inside a literal: all arguments per request
                break
            else:
                try:
                    coerce_argument(static, node, name, arg_def, arg_node, None, None)
                except GraphQLError as err:
                    raise _NotCompilable from err
                if out_name in static and not isinstance(static[out_name], _IMMUTABLE):
                    del static[out_name]
                    per_request.append((name, out_name, arg_def, arg_node, None))
        else:
            f.static_args = static
            f.per_request_args = tuple(per_request)

    def _completer(self, type_: GraphQLOutputType, node: FieldNode, f: _Field, required: bool = False
                   ) -> Completer:
        """How a value of `type_` is completed; `required` when it is the item of a non-null type (its leaves
        and objects then check for null themselves, a call less per value)."""
        if isinstance(type_, GraphQLNonNull):
            if is_leaf_type(type_.of_type) or isinstance(type_.of_type, GraphQLObjectType):
                return self._completer(type_.of_type, node, f, required=True)
            inner = self._completer(type_.of_type, node, f)

            def non_null(value: Any, path: Path, run: _Run) -> Any:
                if value is None or value is Undefined:
                    raise Fallback
                return inner(value, path, run)

            return non_null
        if isinstance(type_, GraphQLList):
            f.listed = True
            item = self._completer(type_.of_type, node, f)
            # The items' paths are made only for resolvers below to read (an error takes the full path).
            f.items_pathless = not _resolvers(f.children)

            def as_list(value: Any, path: Path, run: _Run) -> Any:
                if isinstance(value, Exception):
                    raise Fallback
                if value is None or value is Undefined:
                    return None
                if not is_iterable(value):
                    raise Fallback
                out: list[Any] = []
                pending: list[int] = []
                try:
                    for i, v in enumerate(value):
                        at = _LEAF_PATH if f.items_pathless else path.add_key(i, None)
                        done = _then(v, item, at, run) if _awaitable(v) else item(v, at, run)
                        if _awaitable(done):
                            pending.append(i)
                        out.append(done)
                except BaseException:
                    _abandon(out[i] for i in pending)
                    raise
                if not pending:
                    return out
                return _fill_list(out, pending)

            return as_list
        if is_leaf_type(type_):
            return _leaf(type_, required)
        if isinstance(type_, GraphQLInterfaceType):
            return self._abstract(type_, node, f)
        if not isinstance(type_, GraphQLObjectType):
            raise _NotCompilable
        is_type_of = type_.is_type_of
        own: type | None = None
        if is_type_of is not None:
            # A type behind an interface: graphql-core checks each object is of it. Strawberry's own check
            # (a type without an `is_type_of` of its own) reads only the object, so the plan makes it too. It
            # accepts an instance of the type's own class that was not cast, which is answered without a call.
            definition = type_.extensions.get(STRAWBERRY)
            if getattr(definition, "is_type_of", True) is not None:
                raise _NotCompilable
            if isinstance(definition, StrawberryObjectDefinition):
                own = definition.origin
        fields = f.children = self._selection(type_, node.selection_set)

        def obj(value: Any, path: Path, run: _Run) -> Any:
            if isinstance(value, Exception):
                raise Fallback
            if value is None or value is Undefined:
                if required:
                    raise Fallback
                return None
            if (is_type_of is not None and (type(value) is not own or get_strawberry_type_cast(value) is not None)
                    and not is_type_of(value, None)):  # type: ignore[arg-type]
                raise Fallback  # the full path reports the object of another type
            return self._execute(fields, value, path, run)

        return obj

    def _abstract(self, type_: GraphQLInterfaceType, node: FieldNode, f: _Field) -> Completer:
        """An interface: the selection compiled on each object type implementing it, chosen by the class of
        the value as Strawberry's resolve_type chooses it (the object type of the value's own definition, when
        that class implements the interface), which that type's is_type_of then accepts. Anything else (a
        cast, another class, an interface resolving types its own way, generics) takes the full path."""
        interface = type_.extensions.get(STRAWBERRY)
        if (not isinstance(interface, StrawberryObjectDefinition) or interface.resolve_type is not None
                or interface.is_graphql_generic):
            raise _NotCompilable
        by_class: dict[type, list[_Field]] = {}
        f.children = []
        for object_type in self.schema.get_possible_types(type_):
            definition = object_type.extensions.get(STRAWBERRY)
            if (not isinstance(definition, StrawberryObjectDefinition) or definition.is_graphql_generic
                    or definition.concrete_of is not None or definition.is_type_of is not None
                    or definition.name != object_type.name or not issubclass(definition.origin, interface.origin)
                    or definition.origin in by_class):
                raise _NotCompilable
            fields = by_class[definition.origin] = self._selection(object_type, node.selection_set)
            f.children.extend(fields)

        def abstract(value: Any, path: Path, run: _Run) -> Any:
            if isinstance(value, Exception):
                raise Fallback
            if value is None or value is Undefined:
                return None
            fields = by_class.get(type(value))
            if fields is None or get_strawberry_type_cast(value) is not None:
                raise Fallback
            return self._execute(fields, value, path, run)

        return abstract

    def give(self, values: Callable[[_Field], Callable[[Any, _Run], Any] | None]) -> None:
        """Let fields take their values without their resolvers: `values(field)` gives a field's direct value
        function (source, run) -> value (a coroutine function when it waits), or None to keep its resolver.
        Such a function answers as the resolver would, or raises (the full path then answers); one giving a
        field above others their values can keep what it read in the run's `read`."""
        def walk(fields: list[_Field]) -> None:
            for f in fields:
                if f.resolves:
                    direct = values(f)
                    if direct is not None:
                        f.direct, f.waits = direct, inspect.iscoroutinefunction(direct)
                walk(f.children)
                if not f.typename:
                    f.pathless = _pathless(f)
                    f.items_pathless = not _resolvers(f.children)

        walk(self.fields)

    # -- running -------------------------------------------------------------------------------------------

    async def run(self, context: Any, variables: dict[str, Any] | None) -> dict[str, Any]:
        """The operation's data for these variables, or Fallback (also when the limits refuse the variables:
        the full path then says why)."""
        if self.refuses(variables):
            raise Fallback
        try:
            run = _Run(context, self._variables(variables or {}))
            data = self._execute(self.fields, None, None, run)
            if _awaitable(data):
                data = await data
        except Fallback:
            raise
        except (UcsError, GraphQLError) as err:  # a resolver's refusal: the full path renders it
            raise Fallback from err
        except Exception as err:
            raise Fallback(unexpected=True) from err
        return data

    def _variables(self, inputs: dict[str, Any]) -> VariableValues:
        """The coerced variables: strings given for String and ID variables as they are (what graphql-core's
        coercion returns for them), anything else through graphql-core's coercion."""
        sources: dict[str, VariableValueSource] = {}
        coerced: dict[str, Any] = {}
        for signature in self.string_vars or ((None,) if self.var_defs else ()):
            if signature is None:
                break
            value = inputs.get(signature.name)
            if type(value) is not str:
                break
            sources[signature.name] = VariableValueSource(signature, value)
            coerced[signature.name] = value
        else:
            return VariableValues(sources, coerced)
        got = get_variable_values(self.schema, self.var_defs, inputs)
        if not isinstance(got, VariableValues):
            raise Fallback
        return got

    def _execute(self, fields: list[_Field], source: Any, path: Path | None, run: _Run) -> Any:
        out: dict[str, Any] = {}
        pending: list[tuple[str, Awaitable[Any]]] | None = None
        try:
            for f in fields:
                if f.typename:
                    out[f.key] = f.parent.name
                    continue
                if f.pathless:
                    value = f.complete(getattr(source, f.python_name) if f.direct is None else f.direct(source, run),
                                       _LEAF_PATH, run)
                    if f.leaf:
                        out[f.key] = value
                        continue
                else:
                    field_path = Path(path, f.key, f.parent.name)
                    if f.basic:
                        value = f.complete(getattr(source, f.python_name), field_path, run)
                    elif f.direct is not None:
                        value = f.direct(source, run)
                        value = (_then(value, f.complete, field_path, run) if f.waits
                                 else f.complete(value, field_path, run))
                    else:
                        value = self._resolve(f, source, field_path, run)
                if _awaitable(value):
                    if pending is None:
                        pending = []
                    pending.append((f.key, value))
                    out[f.key] = None  # keeps the selection's order
                else:
                    out[f.key] = value
        except BaseException:
            if pending:
                _abandon(a for _, a in pending)
            raise
        if pending is None:
            return out
        return _fill_dict(out, pending)

    def _resolve(self, f: _Field, source: Any, path: Path, run: _Run) -> Any:
        kwargs = self.kwargs(f, run)
        info = self._info(f, source, path, run)
        if f.check:
            return _eager(self._checked(f, source, info, kwargs, path, run))
        return self._call(f, source, info, kwargs, path, run)

    def kwargs(self, f: _Field, run: _Run) -> dict[str, Any]:
        """The field's arguments as its resolver is called with them (Python names; absent ones missing)."""
        raw = self._arguments(f, run)
        kwargs: dict[str, Any] = {}
        for graphql_name, python_name, is_list in f.convert:
            if graphql_name in raw:
                value = raw[graphql_name]
                kwargs[python_name] = list(value) if is_list and value is not None else value
        return kwargs

    async def check(self, f: _Field, source: Any, path: Path, run: _Run, kwargs: dict[str, Any]) -> None:
        """The field's permission checks, as `_checked` makes them before calling its resolver."""
        if f.check:
            await _permit(f, source, self._info(f, source, path, run), kwargs)

    @staticmethod
    def _arguments(f: _Field, run: _Run) -> dict[str, Any]:
        """The field's arguments, coerced as graphql-core does (see `_resolver`)."""
        if f.per_request_args is None:
            return get_argument_values(f.field_def, f.nodes[0], run.variables)
        if not f.per_request_args:
            return f.static_args
        raw = dict(f.static_args)
        coerced = run.variables.coerced
        for name, out_name, arg_def, arg_node, variable in f.per_request_args:
            value = coerced.get(variable, Undefined) if variable is not None else Undefined
            if value is Undefined:
                coerce_argument(raw, f.nodes[0], name, arg_def, arg_node, run.variables, None)
            elif value is None and isinstance(arg_def.type, GraphQLNonNull):
                raise Fallback
            else:
                raw[out_name] = value
        return raw

    def _call(self, f: _Field, source: Any, info: Any, kwargs: dict[str, Any], path: Path, run: _Run) -> Any:
        for name in f.source_params:
            kwargs[name] = source
        if f.info_param is not None:
            kwargs[f.info_param] = info
        value = f.resolver(source, **kwargs) if f.self_param else f.resolver(**kwargs)
        if type(value) is CoroutineType:
            value = _eager(value)
        if _awaitable(value):
            return _then(value, f.complete, path, run)
        return f.complete(value, path, run)

    async def _checked(self, f: _Field, source: Any, info: Any, kwargs: dict[str, Any], path: Path,
                       run: _Run) -> Any:
        await _permit(f, source, info, kwargs)
        value = self._call(f, source, info, kwargs, path, run)
        if _awaitable(value):
            value = await value
        return value

    def _info(self, f: _Field, source: Any, path: Path, run: _Run) -> Any:
        schema = self.strawberry_schema
        raw = ResolveInfo(f.name, f.nodes, f.field_def.type, f.parent, path, self.schema, {}, None,
                          self.operation, run.variables.coerced, run.context, inspect.isawaitable, None, None,
                          None)  # type: ignore[arg-type]  # as Strawberry passes no operation extensions
        return schema.config.info_class(_raw_info=raw, _field=f.strawberry)


async def _permit(f: _Field, source: Any, info: Any, kwargs: dict[str, Any]) -> None:
    """The field's permission checks, in order; Fallback (the full path says why) on the first refusal."""
    for permission in f.check:
        granted = permission.has_permission(source, info, **kwargs)
        if _awaitable(granted):
            granted = await granted
        if granted is not True:
            raise Fallback


_INT32 = (-(2**31), 2**31 - 1)
_LEAF_PATH = Path(None, "", None)  # what fields without a resolver at or below them are completed with


def _leaf(type_: Any, required: bool) -> Completer:
    """A scalar's or enum's completion (a null refused when `required`); the common values of String, ID, Int
    and Boolean without a call."""
    coerce = type_.coerce_output_value

    def leaf(value: Any, path: Path, run: _Run) -> Any:
        if isinstance(value, Exception):
            raise Fallback
        if value is None or value is Undefined:
            if required:
                raise Fallback
            return None
        out = coerce(value)
        if out is None or out is Undefined:
            raise Fallback
        return out

    if type_ is GraphQLString or type_ is GraphQLID:
        def text(value: Any, path: Path, run: _Run) -> Any:
            return value if type(value) is str else leaf(value, path, run)

        return text
    if type_ is GraphQLInt:
        def number(value: Any, path: Path, run: _Run) -> Any:
            return value if type(value) is int and _INT32[0] <= value <= _INT32[1] else leaf(value, path, run)

        return number
    if type_ is GraphQLBoolean:
        def boolean(value: Any, path: Path, run: _Run) -> Any:
            return value if type(value) is bool else leaf(value, path, run)

        return boolean
    return leaf


def _eager(coro: Coroutine[Any, Any, Any]) -> Any:
    """A resolver's coroutine run up to its first wait: its value when it needs none (a load its loader has
    already, a check that does not wait), else the rest of it as an awaitable. Most fields below the first
    reads of a document then complete in the same turn, without a task or a callback of the event loop each
    (loads made while the plan walks the document join the same batches as when they start a turn later)."""
    try:
        waiting = coro.send(None)
    except StopIteration as done:
        return done.value
    return _Resumed(coro, waiting)


class _Resumed:
    """The rest of a coroutine `_eager` started, which waits for `waiting`: awaiting it hands that to the
    awaiting task, and goes on driving the coroutine as `await` would.

    A future a coroutine waits for is marked as blocking until a task takes it; another coroutine waiting for
    the same future (two fields loading one key) would then fail ("await wasn't used with future"). The mark
    is taken off here and set again when a task is handed the future (or, when it is done by then, the
    coroutine goes on at once)."""

    __slots__ = ("blocking", "coro", "waiting")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
        self.coro = coro
        self.waiting = waiting
        self.blocking = getattr(waiting, "_asyncio_future_blocking", False) is True
        if self.blocking:
            waiting._asyncio_future_blocking = False

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, out = self.coro, self.waiting
        self.waiting = None
        try:
            if self.blocking:
                if out.done():
                    out = coro.send(None)
                else:
                    out._asyncio_future_blocking = True
        except StopIteration as done:
            return done.value
        while True:
            try:
                sent = yield out
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as err:  # a cancellation: the coroutine handles it as its await would
                try:
                    out = coro.throw(err)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    out = coro.send(sent)
                except StopIteration as done:
                    return done.value


async def _then(value: Awaitable[Any], complete: Completer, path: Path, run: _Run) -> Any:
    done = complete(await value, path, run)
    if _awaitable(done):
        done = await done
    return done


_SETTLING: set[asyncio.Future[Any]] = set()


def _abandon(awaitables: Iterable[Awaitable[Any]]) -> None:
    """Let work already started run to its end in the background, its outcome ignored (as graphql-core
    settles the sibling fields of a failed one), rather than leave it never awaited."""
    for awaitable in awaitables:
        future = asyncio.ensure_future(awaitable)
        _SETTLING.add(future)
        future.add_done_callback(_settled)


def _settled(future: asyncio.Future[Any]) -> None:
    _SETTLING.discard(future)
    retrieve(future)


async def _fill_dict(out: dict[str, Any], pending: list[tuple[str, Awaitable[Any]]]) -> dict[str, Any]:
    # Scheduled as graphql-core does (one awaitable inline, several as tasks), so DataLoaders batch alike.
    if len(pending) == 1:
        key, awaitable = pending[0]
        out[key] = await awaitable
        return out
    values = await gather_with_cancel(*(a for _, a in pending))
    for (key, _), value in zip(pending, values, strict=True):
        out[key] = value
    return out


async def _fill_list(out: list[Any], pending: list[int]) -> list[Any]:
    if len(pending) == 1:
        out[pending[0]] = await out[pending[0]]
        return out
    values = await gather_with_cancel(*(out[i] for i in pending))
    for i, value in zip(pending, values, strict=True):
        out[i] = value
    return out


class _NotCompilable(Exception):
    pass


_PLAIN = frozenset({str, int, float, bool, type(None), dict, list, tuple})


_AWAITS: dict[type, bool] = {}  # inspect.isawaitable by class, for classes whose instances all answer alike


def _awaitable(value: Any) -> bool:
    """inspect.isawaitable, answered at once for the plain values most fields complete to, and from the value's
    class for the others (but generators, which are awaitable or not one by one)."""
    kind = type(value)
    if kind in _PLAIN:
        return False
    known = _AWAITS.get(kind)
    if known is None:
        known = inspect.isawaitable(value)
        if kind is not GeneratorType:
            _AWAITS[kind] = known
    return known


def _pathless(f: _Field) -> bool:
    """Whether a field is completed without a response path: its value is had without a resolver, at once,
    and nothing below it reads a path."""
    return (f.basic or (f.direct is not None and not f.waits)) and not _resolvers(f.children)


def _resolvers(fields: list[_Field]) -> int:
    return sum(f.resolves + _resolvers(f.children) for f in fields)


def _one_at_a_time(fields: list[_Field]) -> bool:
    """Whether no two resolvers of these selections can be in flight at once: at most one field of each
    selection resolves anything (itself or below), and no list has items that resolve."""
    busy = [f for f in fields if f.resolves or _resolvers(f.children)]
    return len(busy) <= 1 and all(
        not (f.listed and _resolvers(f.children)) and _one_at_a_time(f.children) for f in busy)


_IMMUTABLE = (str, int, float, bool, Enum, type(None))


def has_variable(node: ValueNode) -> bool:
    """Whether a literal argument value holds a variable anywhere inside it."""
    if isinstance(node, VariableNode):
        return True
    if isinstance(node, ListValueNode):
        return any(has_variable(v) for v in node.values)
    if isinstance(node, ObjectValueNode):
        return any(has_variable(f.value) for f in node.fields)
    return False


def _argument_kind(type_: Any, registry: Any) -> str | None:
    """'leaf' when Strawberry passes the value on as is, 'list' when it copies the list; None otherwise."""
    if isinstance(type_, StrawberryMaybe):  # wrapped in Some()
        return None
    if isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    if isinstance(type_, StrawberryList):
        item = type_.of_type
        if isinstance(item, StrawberryOptional):
            item = item.of_type
        return "list" if _is_plain_scalar(item, registry) else None
    return "leaf" if _is_plain_scalar(type_, registry) else None


def _is_plain_scalar(type_: Any, registry: Any) -> bool:
    """Scalars (but GlobalID, which Strawberry decodes) and enums: Strawberry passes their values on as is."""
    if isinstance(type_, StrawberryEnumDefinition) or has_enum_definition(type_):
        return True
    return type_ is not GlobalID and is_scalar(type_, registry)


class Plans:
    """Compiled plans by (query text, operation name); None for documents the full path must run. The cache
    is bounded by estimated bytes (`budget`, by default the protection's `cache_bytes`): the least recently
    used plans make room for a new one, as in the parsed-document cache."""

    def __init__(self, schema: Any, budget: int | None = None, enabled: bool = True,
                 specialisations: Iterable[Callable[[Plan], None]] = ()) -> None:
        self.schema = schema
        self.specialisations = tuple(specialisations)  # each may give a new plan's fields values (Plan.give)
        self.protection = _protection_of(schema) if enabled else None
        if budget is None:
            budget = self.protection.cache_bytes if self.protection is not None else 0
        self._plans: SizedCache[tuple[str, str | None], Plan | _Uncompiled] = SizedCache(budget)

    def get(self, query: str, operation_name: str | None) -> Plan | None:
        if self.protection is None or len(query) > self.protection.max_document_bytes:
            return None  # over the limit: the full path refuses it
        key = (query, operation_name)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._compile(query, operation_name) or _UNCOMPILED
            fields = plan.weight_fields if isinstance(plan, Plan) else 0
            self._plans.put(key, plan, _entry_weight(query, fields))
        return plan if isinstance(plan, Plan) else None

    def _compile(self, query: str, operation_name: str | None) -> Plan | None:
        from ucs_graphql.graphql.schema import checked_document

        protection = self.protection
        assert protection is not None
        checked = checked_document(self.schema, query, protection)
        if checked is None:
            return None
        document = checked.document
        if operation_name is None:
            # As the full path does: no name given runs the first operation (named or not).
            first = next((d for d in document.definitions if isinstance(d, OperationDefinitionNode)), None)
            operation_name = first.name.value if first is not None and first.name else None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY or operation.directives:
            return None
        if any(v.directives for v in operation.variable_definitions or ()):
            return None
        try:
            plan = Plan(self.schema, document, operation)
        except _NotCompilable:
            return None
        name = operation_name

        def refuses(variables: dict[str, Any] | None) -> bool:
            return bool(protection.request_errors(checked, name, variables))

        plan.refuses = refuses
        plan.weight_fields = checked.measure.selections
        for specialise in self.specialisations:
            specialise(plan)
        return plan


class _Uncompiled:
    """The cached answer for a text that has no plan."""


_UNCOMPILED = _Uncompiled()


def _entry_weight(query: str, planned_fields: int) -> int:
    from ucs_graphql.graphql.schema import entry_weight

    return entry_weight(query, planned_fields)


def _protection_of(schema: Any) -> Any:
    """The schema's Protection extension when it runs nothing else per request that a plan would skip (the
    check of what a document reaches runs before a plan does: `reach.plan_allowed`)."""
    from ucs_graphql.graphql.reach import Reach
    from ucs_graphql.graphql.schema import Protection

    config = schema.config
    extensions = [e for e in schema.extensions if e is not Reach]
    if (len(extensions) == 1 and isinstance(extensions[0], type) and issubclass(extensions[0], Protection)
            and not schema.directives and not schema.exception_handlers
            and schema.execution_context_class is StrawberryGraphQLCoreExecutionContext
            and not config.enable_experimental_incremental_execution and config.default_resolver is getattr):
        return extensions[0]
    return None
