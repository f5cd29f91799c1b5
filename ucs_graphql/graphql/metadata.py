"""GraphQL: schema metadata (same use cases as the CV.WS.*.META operations)."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from ucs_graphql.access import tasks as t
from ucs_graphql.graphql.context import Info
from ucs_graphql.graphql.permissions import needs, needs_by
from ucs_graphql.metadata import service


@strawberry.enum
class ExtensionLevel(Enum):
    PROFILE = "profile"
    SERVICE = "service"
    STATE = "state"
    TASK = "task"


_READ_TASK = {
    "profile": t.READ_PROFILE_EXTENSION_SCHEMA,
    "service": t.READ_SERVICE_EXTENSION_SCHEMA,
    "state": t.READ_STATE_EXTENSION_SCHEMA,
    "task": t.READ_TASK_EXTENSION_SCHEMA,
}


@strawberry.type
class AttributeSchema:
    name: str
    type: str
    length: int | None
    default: JSON | None
    mandatory: bool
    encrypt: bool

    @classmethod
    def of(cls, doc: dict[str, Any]) -> AttributeSchema:
        return cls(name=doc["name"], type=doc["type"], length=doc.get("length"), default=doc.get("default"),
                   mandatory=bool(doc.get("mandatory", False)), encrypt=bool(doc.get("encrypt", False)))


@strawberry.type
class ExtensionSchema:
    name: str
    type: str
    attributes: list[AttributeSchema]
    unique: JSON | None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> ExtensionSchema:
        return cls(name=doc["name"], type=doc["type"], attributes=[AttributeSchema.of(a) for a in doc["attributes"]],
                   unique=doc.get("unique"))


@strawberry.type
class IdentificationKey:
    name: str
    source: str
    attributes: list[str]
    unique: bool
    normalize: str | None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> IdentificationKey:
        return cls(name=doc["name"], source=doc["source"], attributes=doc["attributes"], unique=doc["unique"],
                   normalize=doc.get("normalize"))


@strawberry.type
class MetadataQuery:
    @strawberry.field(extensions=needs(t.READ_PROFILE_SCHEMA), description="Profile attribute schema.")
    async def profile_attributes(self, info: Info) -> list[AttributeSchema]:
        return [AttributeSchema.of(d) for d in await service.list_profile_attributes(info.context.ctx)]

    @strawberry.field(extensions=needs_by("level", _READ_TASK),
                      description="Extension schemas of a level (its read task applies).")
    async def extension_schemas(self, info: Info, level: ExtensionLevel) -> list[ExtensionSchema]:
        return [ExtensionSchema.of(d) for d in await service.list_extension_schemas(info.context.ctx, level.value)]

    @strawberry.field(extensions=needs_by("level", _READ_TASK),
                      description="One extension schema by case-insensitive name.")
    async def extension_schema(self, info: Info, level: ExtensionLevel, name: str) -> ExtensionSchema:
        return ExtensionSchema.of(await service.get_extension_schema(info.context.ctx, level.value, name))

    @strawberry.field(extensions=needs(t.READ_IDENTIFICATION_KEYS), description="Identification keys.")
    async def identification_keys(self, info: Info) -> list[IdentificationKey]:
        return [IdentificationKey.of(d) for d in await service.list_identification_keys(info.context.ctx)]

    @strawberry.field(extensions=needs(t.READ_IDENTIFICATION_KEYS), description="One identification key.")
    async def identification_key(self, info: Info, name: str) -> IdentificationKey:
        return IdentificationKey.of(await service.get_identification_key(info.context.ctx, name))

    @strawberry.field(extensions=needs(t.READ_BUSINESS_ATTRIBUTES),
                      description="Business attributes: all, one by name, or the one mapped to cvAttribute.")
    async def business_attributes(
        self, info: Info, name: str | None = None, cv_attribute: str | None = None
    ) -> JSON:
        return JSON(await service.query_business_attributes(info.context.ctx, name=name, cv_attribute=cv_attribute))

    @strawberry.field(extensions=needs(t.READ_GEN_ADMIN_ROLE), description="Configured roles.")
    async def roles(self, info: Info) -> JSON:
        return JSON(await service.query_roles(info.context.ctx))


@strawberry.type
class MetadataMutation:
    @strawberry.mutation(extensions=needs(t.HANDLE_METADATA),
                         description="Create one extension schema (an object) or several (an array).")
    async def create_extension_schemas(self, info: Info, level: ExtensionLevel, schemas: JSON) -> list[str]:
        return await service.create_extension_schemas(info.context.ctx, level.value, schemas)

    @strawberry.mutation(extensions=needs(t.HANDLE_METADATA), description="Delete an extension schema.")
    async def delete_extension_schema(self, info: Info, level: ExtensionLevel, name: str) -> bool:
        await service.delete_extension_schema(info.context.ctx, level.value, name)
        return True

    @strawberry.mutation(extensions=needs(t.HANDLE_METADATA), description="Create an identification key.")
    async def create_identification_key(self, info: Info, key: JSON) -> str:
        return await service.create_identification_key(info.context.ctx, key)

    @strawberry.mutation(extensions=needs(t.HANDLE_METADATA), description="Delete an identification key.")
    async def delete_identification_key(self, info: Info, name: str) -> bool:
        await service.delete_identification_key(info.context.ctx, name)
        return True

    @strawberry.mutation(extensions=needs(t.HANDLE_METADATA), description="Define profile attributes.")
    async def add_profile_attributes(self, info: Info, attributes: JSON) -> list[str]:
        return await service.add_profile_attributes(info.context.ctx, attributes)

    @strawberry.mutation(extensions=needs(t.HANDLE_METADATA), description="Reload schema caches.")
    async def reload_metadata_cache(self, info: Info) -> bool:
        await service.reload_cache(info.context.ctx)
        return True
