"""The one route table: every REST operation with its reference id, access task and handler.

Paths are served at the root and under the configured base path, with or without a trailing slash.
Literal paths are listed before parameterised ones that could match them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.responses import Response

from rest_compat.call import Call
from rest_compat.handlers import interactions as ixn
from rest_compat.handlers import metadata as meta
from rest_compat.handlers import server
from ucs_graphql.access import tasks as t

Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True)
class Op:
    """One REST operation."""

    ref: str
    method: str
    path: str
    task: str
    handler: Handler
    summary: str
    status: int = 200
    body: str | None = None  # OpenAPI component of the request body
    response: str | None = None  # OpenAPI component of the success body


ROUTES: list[Op] = [
    # --- Server ---
    Op("CV.WS.STAT", "GET", "/server/status", t.READ_SERVER_INFO, server.get_status, "Query server status",
       response="ServerStatus"),
    Op("CV.WS.MODE", "POST", "/server/mode", t.CHANGE_SERVER_MODE, server.set_mode, "Set server mode",
       body="ServerMode", response="ServerChanged"),
    # --- Schema metadata ---
    Op("CV.WS.META.1", "GET", "/metadata", t.READ_METADATA, meta.metadata_index, "Get metadata resources",
       response="MetadataIndex"),
    Op("CV.WS.PROF.META.1", "GET", "/metadata/profiles", t.READ_PROFILE_SCHEMA, meta.list_profile_attributes,
       "Query profile schema", response="AttributeSchemaList"),
    Op("X.PROF.META.ADD", "POST", "/metadata/profiles", t.HANDLE_METADATA, meta.add_profile_attributes,
       "Define profile attributes", 201, body="AttributeSchemaOrList", response="Name"),
    Op("CV.WS.PROF.META.4", "POST", "/metadata/profiles/extensions", t.HANDLE_METADATA,
       meta.create_extension_schema["profile"], "Create profile extension schema", 201,
       body="ExtensionSchemaOrList", response="Name"),
    Op("CV.WS.PROF.META.3", "GET", "/metadata/profiles/extensions", t.READ_PROFILE_EXTENSION_SCHEMA,
       meta.list_extension_schemas["profile"], "Query profile extension schemas",
       response="ExtensionSchemaList"),
    Op("CV.WS.PROF.META.3", "GET", "/metadata/profiles/extensions/{name}", t.READ_PROFILE_EXTENSION_SCHEMA,
       meta.get_extension_schema["profile"], "Query one profile extension schema", response="ExtensionSchema"),
    Op("CV.WS.PROF.META.5", "DELETE", "/metadata/profiles/extensions/{name}", t.HANDLE_METADATA,
       meta.delete_extension_schema["profile"], "Delete profile extension schema", 204),
    Op("CV.WS.SRV.META.1", "POST", "/metadata/services/extensions", t.HANDLE_METADATA,
       meta.create_extension_schema["service"], "Create service extension schema", 201,
       body="ExtensionSchemaOrList", response="Name"),
    Op("CV.WS.SRV.META.2", "GET", "/metadata/services/extensions", t.READ_SERVICE_EXTENSION_SCHEMA,
       meta.list_extension_schemas["service"], "Query service extension schemas",
       response="ExtensionSchemaList"),
    Op("CV.WS.SRV.META.2", "GET", "/metadata/services/extensions/{name}", t.READ_SERVICE_EXTENSION_SCHEMA,
       meta.get_extension_schema["service"], "Query one service extension schema", response="ExtensionSchema"),
    Op("CV.WS.SRV.META.3", "DELETE", "/metadata/services/extensions/{name}", t.HANDLE_METADATA,
       meta.delete_extension_schema["service"], "Delete service extension schema", 204),
    Op("CV.WS.SRV.META.5", "POST", "/metadata/states/extensions", t.HANDLE_METADATA,
       meta.create_extension_schema["state"], "Create state extension schema", 201,
       body="ExtensionSchemaOrList", response="Name"),
    Op("CV.WS.SRV.META.6", "GET", "/metadata/states/extensions", t.READ_STATE_EXTENSION_SCHEMA,
       meta.list_extension_schemas["state"], "Query state extension schemas", response="ExtensionSchemaList"),
    Op("CV.WS.SRV.META.6", "GET", "/metadata/states/extensions/{name}", t.READ_STATE_EXTENSION_SCHEMA,
       meta.get_extension_schema["state"], "Query one state extension schema", response="ExtensionSchema"),
    Op("CV.WS.SRV.META.4", "DELETE", "/metadata/states/extensions/{name}", t.HANDLE_METADATA,
       meta.delete_extension_schema["state"], "Delete state extension schema", 204),
    Op("CV.WS.SRV.META.7", "POST", "/metadata/tasks/extensions", t.HANDLE_METADATA,
       meta.create_extension_schema["task"], "Create task extension schema", 201,
       body="ExtensionSchemaOrList", response="Name"),
    Op("CV.WS.SRV.META.8", "GET", "/metadata/tasks/extensions", t.READ_TASK_EXTENSION_SCHEMA,
       meta.list_extension_schemas["task"], "Query task extension schemas", response="ExtensionSchemaList"),
    Op("CV.WS.SRV.META.8", "GET", "/metadata/tasks/extensions/{name}", t.READ_TASK_EXTENSION_SCHEMA,
       meta.get_extension_schema["task"], "Query one task extension schema", response="ExtensionSchema"),
    Op("CV.WS.SRV.META.5", "DELETE", "/metadata/tasks/extensions/{name}", t.HANDLE_METADATA,
       meta.delete_extension_schema["task"], "Delete task extension schema", 204),
    Op("CV.WS.PROF.META.7", "POST", "/metadata/identification-keys", t.HANDLE_METADATA,
       meta.create_identification_key, "Create identification key", 201, body="IdentificationKey",
       response="Name"),
    Op("CV.WS.PROF.META.6", "GET", "/metadata/identification-keys", t.READ_IDENTIFICATION_KEYS,
       meta.list_identification_keys, "Get identification keys", response="IdentificationKeyList"),
    Op("CV.WS.PROF.META.6", "GET", "/metadata/identification-keys/{name}", t.READ_IDENTIFICATION_KEYS,
       meta.get_identification_key, "Get one identification key", response="IdentificationKey"),
    Op("CV.WS.PROF.META.8", "DELETE", "/metadata/identification-keys/{name}", t.HANDLE_METADATA,
       meta.delete_identification_key, "Delete identification key", 204),
    Op("CV.WS.CONFIG.BA", "GET", "/metadata/business-attributes", t.READ_BUSINESS_ATTRIBUTES,
       meta.business_attributes, "Query business attributes", response="BusinessAttributeOrList"),
    Op("CV.WS.CONFIG.BA", "GET", "/metadata/business-attributes/{name}", t.READ_BUSINESS_ATTRIBUTES,
       meta.business_attribute, "Query one business attribute", response="BusinessAttribute"),
    Op("CV.WS.SRV.META.x", "GET", "/metadata/roles", t.READ_GEN_ADMIN_ROLE, meta.roles, "Query metadata roles",
       response="RoleList"),
    Op("CV.WS.META.CACHE.PUT", "PUT", "/metadata/cache", t.HANDLE_METADATA, meta.reload_cache,
       "Reload metadata cache", 200),
    # --- Profiles (CV.WS.PROF.*, CV.WS.CUSTID.1) ---
    # --- Services, states, tasks (CV.WS.SRV.*) ---
    # --- Interactions and bulk import (CV.WS.IXN.*, CV.WS.PROF.IMPORT.1) ---
    Op("X.IXN.CREATE", "POST", "/interactions", t.CREATE_INTERACTION, ixn.create_interaction,
       "Ingest an interaction (JSON, or multipart/form-data with content parts)", 201, body="Interaction",
       response="InteractionId"),
    Op("CV.WS.IXN.2", "GET", "/interactions/{id}", t.READ_INTERACTION, ixn.get_interaction,
       "Query an interaction by id", response="Interaction"),
    Op("CV.WS.IXN.2", "GET", "/interactions/{id}/plain_text", t.READ_INTERACTION, ixn.plain_text,
       "Get an interaction's plain text"),
    Op("CV.WS.IXN.2", "GET", "/interactions/{id}/structured_text", t.READ_INTERACTION, ixn.structured_text,
       "Get an interaction's structured text (with its mime type)"),
    Op("CV.WS.IXN.2", "GET", "/interactions/{id}/binary_content", t.READ_INTERACTION, ixn.binary_content,
       "Get an interaction's binary content (with its mime type)"),
    Op("CV.WS.IXN.2", "GET", "/customers/{id}/interactions", t.READ_INTERACTION, ixn.customer_interactions,
       "Query a customer's interactions", response="InteractionList"),
    Op("CV.WS.IXN.2", "GET", "/services/{id:int}/interactions", t.READ_INTERACTION, ixn.service_interactions,
       "Query a service's interactions", response="InteractionList"),
]
