"""One permission layer for every GraphQL root field: the same UCS task as the REST route needs.

Every root field declares exactly one `HasTask`: a fixed task (`needs`), a task chosen by one argument's
value (`needs_by`, e.g. the extension level), as its REST twins do per path, the read task of each type of
object its global ids name (`needs_per_node`, for `node` and `nodes`), or, explicitly, no task beyond being
signed in (`signed_in`, for `viewer`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from ucs_graphql.access.gate import principal_of
from ucs_graphql.kit.errors import Unauthenticated


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

    def tasks_for(self, kwargs: Mapping[str, Any]) -> tuple[str, ...]:
        """The tasks this call needs, every one of them (resolver keyword arguments in)."""
        return (self.task_for(kwargs),)

    def task_for(self, kwargs: Mapping[str, Any]) -> str:
        """The one task this call needs (fixed, or the one mapped to the argument's value)."""
        if self.task is not None:
            return self.task
        assert self.arg is not None
        value = kwargs[self.arg]
        return self.by_value[str(getattr(value, "value", value))]

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        check = info.context.ctx.rt.parts.get("authorize_task")
        if check is None:
            return True
        tasks = self.tasks_for(kwargs)
        if not tasks and principal_of(info.context.request) is None:
            raise Unauthenticated("credentials are missing: send HTTP Basic credentials or 'Authorization: "
                                  "Bearer <token>'")
        for task in tasks:
            # Raises Unauthenticated or Forbidden, rendered with their codes by the schema.
            await check(info.context.ctx, info.context.request, task)
        return True


class SignedIn(HasTask):
    """Grants the field to any signed-in caller: it needs no task (it shows the caller only themself)."""

    def __init__(self) -> None:
        self.task = None
        self.arg = None
        self.by_value = {}

    def tasks_for(self, kwargs: Mapping[str, Any]) -> tuple[str, ...]:
        return ()

    def task_for(self, kwargs: Mapping[str, Any]) -> str:
        raise ValueError("a field open to any signed-in caller needs no task")


class PerNode(HasTask):
    """Grants the field when the caller holds the read task of every type of object the global ids of
    argument `arg` name (`types_of` reads them: raising BadParameter for a malformed one); `task_of` maps a
    type to its task."""

    def __init__(self, arg: str, types_of: Callable[[Any], tuple[str, ...]], task_of: Mapping[str, str]) -> None:
        self.task = None
        self.arg = arg
        self.by_value = {}
        self.types_of = types_of
        self.task_of = dict(task_of)

    def types_for(self, kwargs: Mapping[str, Any]) -> tuple[str, ...]:
        """The types of object this call's ids name."""
        assert self.arg is not None
        return self.types_of(kwargs[self.arg])

    def tasks_for(self, kwargs: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.task_of[kind] for kind in self.types_for(kwargs)))

    def task_for(self, kwargs: Mapping[str, Any]) -> str:
        tasks = self.tasks_for(kwargs)
        if len(tasks) != 1:
            raise ValueError(f"these ids need {len(tasks)} tasks")
        return tasks[0]


def _extensions(permission: HasTask) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[permission], fail_silently=False, use_directives=False)]


def needs(task: str) -> list[FieldExtension]:
    """Field extensions that enforce `task` on a root field."""
    return _extensions(HasTask(task))


def needs_by(arg: str, tasks: Mapping[str, str]) -> list[FieldExtension]:
    """Field extensions that enforce the task mapped to the value of argument `arg` (an enum's value)."""
    return _extensions(HasTask(arg=arg, by_value=tasks))


def needs_per_node(arg: str, types_of: Callable[[Any], tuple[str, ...]], task_of: Mapping[str, str]
                   ) -> list[FieldExtension]:
    """Field extensions that enforce the read task of each type of object argument `arg`'s global ids name."""
    return _extensions(PerNode(arg, types_of, task_of))


def signed_in() -> list[FieldExtension]:
    """Field extensions that admit any signed-in caller (no task: the caller reads only about themself)."""
    return _extensions(SignedIn())
