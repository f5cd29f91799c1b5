"""docs/access.md carries the operation → task table of both doors, generated from the route table, the
live GraphQL schema and the read rules of the fields below its roots. Refresh it with `.venv/bin/python -m tests.test_access_doc`."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

from graphql import get_nullable_type, is_list_type

from rest_compat.routes import ROUTES
from ucs_graphql.access.tasks import ALL_TASKS
from ucs_graphql.graphql.permissions import PerNode, SignedIn
from ucs_graphql.graphql.reads import FIELDS, ROOT_GRANTS, Read

from .test_access_walk import permission_of, root_fields

DOC = Path(__file__).resolve().parent.parent / "docs" / "access.md"
BEGIN = "<!-- BEGIN GENERATED: python -m tests.test_access_doc -->"
END = "<!-- END GENERATED -->"


def render() -> str:
    """The generated part of docs/access.md."""
    lines = [BEGIN, "", "### REST", "", "| Reference id | Method | Path | Task |", "|---|---|---|---|"]
    lines += [f"| {op.ref} | {op.method} | `{op.path}` | `{op.task}` |" for op in ROUTES]
    lines += ["", "### GraphQL", "", "| Operation | Field | Task |", "|---|---|---|"]
    for kind, name, field in root_fields():
        perm = permission_of(field)
        if perm.task is not None:
            lines.append(f"| {kind} | `{name}` | `{perm.task}` |")
        elif isinstance(perm, PerNode):
            assert perm.arg is not None
            listed = is_list_type(get_nullable_type(field.args[perm.arg].type))
            for type_name, task in perm.task_of.items():
                ids = f"[<{type_name} id>, …]" if listed else f"<{type_name} id>"
                lines.append(f"| {kind} | `{name}({perm.arg}: {ids})` | `{task}` |")
        elif isinstance(perm, SignedIn):
            lines.append(f"| {kind} | `{name}` | none (any signed-in caller) |")
        else:
            for value, task in perm.by_value.items():
                lines.append(f"| {kind} | `{name}({perm.arg}: {value.upper()})` | `{task}` |")
    lines += ["", "### GraphQL fields below the root", "",
              "A field needs one of the tasks listed (those of the REST reads that return its data); `—` needs "
              "none beyond the field that returned its object. Grants hold below the field.", "",
              "| Type | Fields | One of the tasks | REST reads | Grants below |", "|---|---|---|---|---|"]
    for (type_name, name), read in ROOT_GRANTS.items():
        lines.append(f"| {type_name} | `{name}` | (its own) | {_codes(read.rest)} | {_codes(sorted(read.grants))} |")
    for type_name, fields in FIELDS.items():
        groups: dict[Read, list[str]] = {}
        for name, read in fields.items():
            groups.setdefault(read, []).append(name)
        for read, names in groups.items():
            tasks = _codes(sorted(read.tasks)) if read.tasks else "—"
            lines.append(f"| {type_name} | {', '.join(names)} | {tasks} | {_codes(read.rest)} | "
                         f"{_codes(sorted(read.grants))} |")
    used = {op.task for op in ROUTES}
    lines += ["", "### Every task", "", "Tasks marked * guard no operation yet.", "", "```"]
    lines += [task + ("" if task in used else "  *") for task in sorted(ALL_TASKS)]
    lines += ["```", "", END]
    return "\n".join(lines)


def _codes(items: Iterable[str]) -> str:
    return ", ".join(f"`{item}`" for item in items)


def _current() -> str:
    text = DOC.read_text()
    found = re.search(re.escape(BEGIN) + ".*?" + re.escape(END), text, re.S)
    assert found, f"{DOC} lacks the generated table markers"
    return found.group(0)


def test_docs_carry_the_operation_task_table():
    assert _current() == render(), "docs/access.md is stale: run `.venv/bin/python -m tests.test_access_doc`"


def test_every_route_is_in_the_table():
    table = _current()
    for op in ROUTES:
        assert f"| {op.method} | `{op.path}` | `{op.task}` |" in table


if __name__ == "__main__":
    DOC.write_text(DOC.read_text().replace(_current(), render()))
    sys.stdout.write(f"refreshed {DOC}\n")
