"""One permission layer for every GraphQL root field: the same UCS task as the REST route needs.

Every root field declares exactly one `HasTask`: a fixed task (`needs`), or a task chosen by one
argument's value (`needs_by`, e.g. the extension level), as its REST twins do per path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension


class HasTask(BasePermission):
    """Grants the field when the caller holds its task (see ucs_graphql.access)."""

    message = "forbidden"

    def __init__(self, task: str | None = None, *, arg: str | None = None,
                 by_value: Mapping[str, str] | None = None) -> None:
        if (task is None) == (arg is None or not by_value):
            raise ValueError("HasTask takes a task, or an argument name and its task per value")
        self.task = task
        self.arg = arg
        self.by_value = dict(by_value or {})

    def task_for(self, kwargs: Mapping[str, Any]) -> str:
        """The task this call needs (fixed, or the one mapped to the argument's value)."""
        if self.task is not None:
            return self.task
        assert self.arg is not None
        value = kwargs[self.arg]
        return self.by_value[str(getattr(value, "value", value))]

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        check = info.context.ctx.rt.parts.get("authorize_task")
        if check is None:
            return True
        # Raises Unauthenticated or Forbidden, rendered with their codes by the schema.
        await check(info.context.ctx, info.context.request, self.task_for(kwargs))
        return True


def _extensions(permission: HasTask) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[permission], fail_silently=False, use_directives=False)]


def needs(task: str) -> list[FieldExtension]:
    """Field extensions that enforce `task` on a root field."""
    return _extensions(HasTask(task))


def needs_by(arg: str, tasks: Mapping[str, str]) -> list[FieldExtension]:
    """Field extensions that enforce the task mapped to the value of argument `arg` (an enum's value)."""
    return _extensions(HasTask(arg=arg, by_value=tasks))
