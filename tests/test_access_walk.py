"""Every REST route and every GraphQL root field, read from the route table and the live schema:
anonymous → 401, authenticated without the operation's task → 403, with only that task → neither."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import (
    GraphQLField,
    GraphQLInputType,
    GraphQLNamedType,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_enum_type,
    is_input_object_type,
    is_list_type,
    is_non_null_type,
)
from strawberry.permission import PermissionExtension

from rest_compat.routes import ROUTES
from tests import helpers
from ucs_graphql.access.directory import build_directory
from ucs_graphql.access.gate import Gate
from ucs_graphql.access.hashing import hash_secret
from ucs_graphql.access.tasks import ALL_TASKS
from ucs_graphql.config import Settings
from ucs_graphql.graphql.nodes import KINDS
from ucs_graphql.graphql.permissions import HasTask, PerNode, SignedIn
from ucs_graphql.graphql.schema import build_schema
from ucs_graphql.kit.errors import Forbidden, Unauthenticated
from ucs_graphql.kit.pages import encode

PASSWORD = "walk-the-table"
TASKS = sorted(ALL_TASKS)
INDEX = {task: i for i, task in enumerate(TASKS)}
PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
ACCESS_CODES = {"UNAUTHENTICATED", "FORBIDDEN"}
SIGNED_IN = {"viewer"}
"""The root fields any signed-in caller may read, needing no task (each declares `SignedIn` explicitly)."""


def _toml(value: Any) -> str:
    return json.dumps(value)  # JSON strings and arrays of strings are valid TOML


def walker_config() -> str:
    """Per task: a role granting only it and one granting every other task, and a user holding each."""
    secret = hash_secret(PASSWORD, ln=4)  # cheap on purpose: the walk signs in ~80 users
    lines: list[str] = []
    for i, task in enumerate(TASKS):
        others = [t for t in TASKS if t != task]
        lines += ["[[roles]]", f"name = {_toml(f'only-{i}')}", f"tasks = {_toml([task])}",
                  "[[roles]]", f"name = {_toml(f'allbut-{i}')}", f"tasks = {_toml(others)}"]
        for kind in ("only", "allbut"):
            lines += ["[[users]]", f'name = "{kind}_{i}"', f"password_hash = {_toml(secret)}",
                      f'roles = ["{kind}-{i}"]']
    return "\n".join(lines) + "\n"


def basic(user: str, password: str = PASSWORD) -> dict[str, str]:
    """An HTTP Basic Authorization header (this file's password by default)."""
    return helpers.basic(user, password)


def sample_path(path: str) -> str:
    """The path with every parameter filled with a sample value of its converter."""
    return PARAM.sub(lambda m: "1" if m.group(2) in ("int", "float") else "sample", path)


# --- REST ---

def test_every_route_names_a_known_task():
    unknown = [(op.method, op.path, op.task) for op in ROUTES if op.task not in ALL_TASKS]
    assert not unknown


async def test_every_route_needs_credentials_and_its_task(make_client):
    client = await make_client(config_text=walker_config())
    failures: list[str] = []
    for op in ROUTES:
        url, i, where = sample_path(op.path), INDEX[op.task], f"{op.method} {op.path}"
        anon = await client.request(op.method, url, headers={"X-Genesys-TenantId": "1"})
        if anon.status_code != 401 or anon.json().get("code") != 4010 or "Basic" not in anon.headers.get(
                "www-authenticate", ""):
            failures.append(f"{where} anonymous: {anon.status_code} {anon.text[:120]}")
        denied = await client.request(op.method, url, headers=basic(f"allbut_{i}"))
        if denied.status_code != 403 or denied.json().get("code") != 4030 or op.task not in denied.text:
            failures.append(f"{where} without {op.task}: {denied.status_code} {denied.text[:120]}")
        allowed = await client.request(op.method, url, headers=basic(f"only_{i}"))
        if allowed.status_code == 401 or (allowed.status_code == 403 and allowed.json().get("code") == 4030):
            failures.append(f"{where} with only {op.task}: {allowed.status_code} {allowed.text[:120]}")
    assert not failures, "\n".join(failures)


# --- GraphQL ---

def root_fields() -> Iterator[tuple[str, str, GraphQLField]]:
    """(operation kind, field name, field) of every Query, Mutation and Subscription root field."""
    gs = build_schema()._schema
    for kind, root in (("query", gs.query_type), ("mutation", gs.mutation_type),
                       ("subscription", gs.subscription_type)):
        if root is not None:
            for name, field in root.fields.items():
                yield kind, name, field


def permission_of(field: GraphQLField) -> HasTask:
    """The one HasTask a root field declares (the test fails when there is none or several)."""
    definition = (field.extensions or {})["strawberry-definition"]
    found = [p for ext in definition.extensions if isinstance(ext, PermissionExtension)
             for p in ext.permissions if isinstance(p, HasTask)]
    assert len(found) == 1, f"{definition.python_name}: declares {len(found)} tasks; it needs exactly one"
    return found[0]


def literal(kind: GraphQLInputType) -> str:
    """A GraphQL literal of this input type (required input fields filled in)."""
    if is_non_null_type(kind):
        return literal(kind.of_type)  # type: ignore[union-attr]
    if is_list_type(kind):
        return f"[{literal(kind.of_type)}]"  # type: ignore[union-attr]
    if is_enum_type(kind):
        return next(iter(kind.values))  # type: ignore[union-attr]
    if is_input_object_type(kind):
        required = [f"{n}: {literal(f.type)}" for n, f in kind.fields.items()  # type: ignore[union-attr]
                    if is_non_null_type(f.type)]
        return "{" + ", ".join(required) + "}"
    scalars = {"Int": "1", "Long": "1", "IdOrName": "1", "Float": "1.5", "Boolean": "true", "JSON": "{}"}
    return scalars.get(kind.name, '"sample"')  # type: ignore[union-attr]


def documents(kind: str, name: str, field: GraphQLField) -> list[tuple[str, dict[str, Any]]]:
    """One document per call shape, with the arguments a task may depend on: (document, python kwargs)."""
    perm = permission_of(field)
    variants: list[dict[str, tuple[str, Any]]] = [{}]
    if isinstance(perm, PerNode):  # an id of each type of object
        assert perm.arg is not None
        listed = is_list_type(get_nullable_type(field.args[perm.arg].type))
        for type_name, kind_of in KINDS.items():
            global_id = encode(type_name, *(1 if highest else "sample" for highest in kind_of.key))
            value = [global_id] if listed else global_id
            variants.append({perm.arg: (json.dumps(value), value)})
        variants.pop(0)
    elif perm.arg is not None:
        graphql_arg = next(n for n, a in field.args.items() if a.out_name == perm.arg or n == perm.arg)
        enum: GraphQLNamedType = get_named_type(field.args[graphql_arg].type)
        variants = [{graphql_arg: (value_name, value.value)}
                    for value_name, value in enum.values.items()]  # type: ignore[attr-defined]
    out = []
    for fixed in variants:
        args = [f"{n}: {fixed[n][0] if n in fixed else literal(a.type)}" for n, a in field.args.items()
                if n in fixed or is_non_null_type(a.type)]
        selection = " { __typename }" if is_composite_type(get_named_type(field.type)) else ""
        call = f"{name}({', '.join(args)})" if args else name
        kwargs = {perm.arg: value for _, value in fixed.values()} if perm.arg else {}  # noqa: B035 (one arg)
        out.append((f"{kind} {{ {call}{selection} }}", kwargs))
    return out


def task_of(perm: HasTask, kwargs: dict[str, Any]) -> str | None:
    """The one task a call needs; None for the fields any signed-in caller may read (`SignedIn`)."""
    tasks = perm.tasks_for(kwargs)
    assert len(tasks) == 1 or (not tasks and isinstance(perm, SignedIn)), (perm, kwargs, tasks)
    return tasks[0] if tasks else None


def cases() -> list[tuple[str, str, str, str | None]]:
    """(kind, field, document, task) for every root field and every task-selecting argument value (task
    None: any signed-in caller)."""
    out = []
    for kind, name, field in root_fields():
        for doc, kwargs in documents(kind, name, field):
            out.append((kind, name, doc, task_of(permission_of(field), kwargs)))
    return out


def test_every_root_field_declares_exactly_one_known_task():
    seen = cases()
    assert len({(k, n) for k, n, _, _ in seen}) == len(list(root_fields()))
    assert all(task in ALL_TASKS for *_, task in seen if task is not None)
    assert {n for _, n, _, task in seen if task is None} == SIGNED_IN


async def test_every_graphql_field_needs_credentials_and_its_task(make_client):
    client = await make_client(config_text=walker_config())
    failures: list[str] = []
    for kind, name, doc, task in cases():
        if kind == "subscription":
            continue  # served over WebSocket; covered by test_every_root_field_permission_checks_its_task
        anon = await client.post("/graphql", json={"query": doc})
        if anon.status_code != 401 or _code(anon.json()) != "UNAUTHENTICATED" or "www-authenticate" not in anon.headers:
            failures.append(f"{name} anonymous: {anon.status_code} {anon.text[:120]}")
        if task is None:  # any signed-in caller: one holding a single unrelated task is served
            allowed = await client.post("/graphql", json={"query": doc}, headers=basic("only_0"))
            if _codes(allowed.json()) & ACCESS_CODES or "errors" in allowed.json():
                failures.append(f"{doc} signed in: {allowed.text[:160]}")
            continue
        i = INDEX[task]
        denied = await client.post("/graphql", json={"query": doc}, headers=basic(f"allbut_{i}"))
        if _code(denied.json()) != "FORBIDDEN" or task not in denied.text:
            failures.append(f"{doc} without {task}: {denied.text[:160]}")
        allowed = await client.post("/graphql", json={"query": doc}, headers=basic(f"only_{i}"))
        if _codes(allowed.json()) & ACCESS_CODES:
            failures.append(f"{doc} with only {task}: {allowed.text[:160]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("holds", [False, True])
async def test_every_root_field_permission_checks_its_task(holds):
    """The HasTask of every root field, called as Strawberry calls it (subscriptions included, which are
    served over WebSocket): the task it needs decides, and a request without a caller is refused."""
    users = [{"name": "u", "password_hash": hash_secret(PASSWORD, ln=4), "roles": ["r"]}]
    checked = 0
    for kind, name, field in root_fields():
        perm = permission_of(field)
        for _, kwargs in documents(kind, name, field):
            task = task_of(perm, kwargs)
            tasks = ([task] if task else []) if holds else [t for t in TASKS if t != task]
            directory = build_directory([{"name": "r", "tasks": tasks}], users, [])
            gate = Gate(Settings(), directory)
            ctx = SimpleNamespace(rt=SimpleNamespace(parts={"authorize_task": gate.authorize_task}))
            admitted = SimpleNamespace(scope={"state": {"principal": directory.users["u"].principal}})
            info = SimpleNamespace(context=SimpleNamespace(ctx=ctx, request=admitted))
            if holds or task is None:
                assert await perm.has_permission(None, info, **kwargs) is True
            else:
                with pytest.raises(Forbidden, match=re.escape(task)):
                    await perm.has_permission(None, info, **kwargs)
            anonymous = SimpleNamespace(context=SimpleNamespace(ctx=ctx, request=SimpleNamespace(scope={})))
            with pytest.raises(Unauthenticated):
                await perm.has_permission(None, anonymous, **kwargs)
            checked += 1
    assert checked >= len(list(root_fields()))


def _codes(body: dict[str, Any]) -> set[str]:
    return {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}


def _code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None
