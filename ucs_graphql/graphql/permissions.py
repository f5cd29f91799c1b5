"""One permission layer for every GraphQL root field: the same UCS task as the REST route needs."""

from __future__ import annotations

from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension


class HasTask(BasePermission):
    """Grants the field when the caller holds `task` (see ucs_graphql.access)."""

    message = "forbidden"

    def __init__(self, task: str) -> None:
        self.task = task

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        check = info.context.ctx.rt.parts.get("authorize_task")
        if check is None:
            return True
        # Raises Unauthenticated or Forbidden, rendered with their codes by the schema.
        await check(info.context.ctx, info.context.request, self.task)
        return True


def needs(task: str) -> list[FieldExtension]:
    """Field extensions that enforce `task` on a root field."""
    return [PermissionExtension(permissions=[HasTask(task)], fail_silently=False, use_directives=False)]
