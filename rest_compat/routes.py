"""The one route table: every REST operation with its reference id, access task and handler.

Paths are served at the root and under the configured base path, with or without a trailing slash.
Literal paths are listed before parameterised ones that could match them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from starlette.responses import Response

from rest_compat.call import Call
from rest_compat.handlers import imports as imp
from rest_compat.handlers import interactions as ixn
from rest_compat.handlers import metadata as meta
from rest_compat.handlers import profiles as prof
from rest_compat.handlers import server, states, tasks
from rest_compat.handlers import services as srv
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


def _spellings(op: Op) -> list[Op]:
    """An item path under both spellings of the reference: /states/{id} and /state/{id}, /tasks/ and /task/."""
    single = op.path.replace("/states/{", "/state/{").replace("/tasks/{", "/task/{")
    return [op, replace(op, path=single)]


_S = "/services/{service_id:int}"
_ST = _S + "/states/{state_id:int}"
_TK = _S + "/tasks/{task_id:int}"

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
    Op("CV.WS.PROF.3", "POST", "/profiles", t.CREATE_PROFILE, prof.create_profile, "Create customer profile", 201,
       body="CustomerProfile", response="CustomerId"),
    Op("CV.WS.CUSTID.1", "GET", "/profiles", t.IDENTIFY_CUSTOMER, prof.identify, "Identify customer",
       response="CustomerProfileOrList"),
    # Bulk import: a literal path, listed before /profiles/{customer_id}.
    Op("CV.WS.PROF.IMPORT.1", "POST", "/profiles/import", t.EXECUTE_BULK_IMPORT, imp.import_profiles,
       "Bulk profile import (CSV, maintenance mode)", body="ImportDescription", response="ImportResult"),
    Op("CV.WS.PROF.1", "GET", "/profiles/{customer_id}", t.READ_PROFILE, prof.get_profile, "Query customer profile",
       response="CustomerProfile"),
    Op("CV.WS.PROF.2", "PUT", "/profiles/{customer_id}", t.UPDATE_PROFILE, prof.update_profile,
       "Update customer profile", body="CustomerProfile"),
    Op("CV.WS.PROF.8", "DELETE", "/profiles/{customer_id}", t.DELETE_PROFILE, prof.delete_profile,
       "Delete customer profile"),
    Op("CV.WS.PROF.4", "POST", "/profiles/{customer_id}/extensions", t.CREATE_PROFILE_EXTENSION,
       prof.insert_extensions, "Insert extension records", body="ProfileExtensions"),
    Op("CV.WS.PROF.6", "PUT", "/profiles/{customer_id}/extensions/{ext}/by/unique", t.UPDATE_PROFILE_EXTENSION,
       prof.update_extension_record, "Update record in profile extension", 204, body="ExtensionRecord"),
    Op("CV.WS.PROF.7", "PUT", "/profiles/{customer_id}/extensions/{ext}/delete/by/unique",
       t.DELETE_PROFILE_EXTENSION, prof.delete_extension_record, "Delete record from profile extension", 204,
       body="ExtensionRecord"),
    Op("CV.WS.PROF.MERGE.1", "PUT", "/profiles/{customer_id}/merge/{src_id}", t.MERGE_PROFILE, prof.merge_profiles,
       "Merge customer profiles", 204, body="MergeOptions"),
    # --- Services, states, tasks (CV.WS.SRV.*) ---
    Op("CV.WS.SRV.1", "POST", "/services/start", t.START_SERVICE, srv.start, "Start service", 201,
       body="ServiceStart", response="ServiceId"),
    Op("CV.WS.SRV.10", "GET", "/services/anonymous/{contact_key}/active", t.READ_SERVICE,
       srv.anonymous_services["active"], "Query active anonymous services", response="ServiceList"),
    Op("CV.WS.SRV.10", "GET", "/services/anonymous/{contact_key}/completed", t.READ_SERVICE,
       srv.anonymous_services["completed"], "Query completed anonymous services", response="ServiceList"),
    Op("CV.WS.SRV.10", "GET", "/services/anonymous/{contact_key}", t.READ_SERVICE, srv.anonymous_services["all"],
       "Query anonymous services", response="ServiceList"),
    Op("CV.WS.SRV.10", "GET", "/customers/{customer_id}/services/active", t.READ_SERVICE,
       srv.customer_services["active"], "Query active customer services", response="ServiceList"),
    Op("CV.WS.SRV.10", "GET", "/customers/{customer_id}/services/completed", t.READ_SERVICE,
       srv.customer_services["completed"], "Query completed customer services", response="ServiceList"),
    Op("CV.WS.SRV.10", "GET", "/customers/{customer_id}/services", t.READ_SERVICE, srv.customer_services["all"],
       "Query customer services", response="ServiceList"),
    Op("CV.WS.SRV.2", "POST", "/customers/{customer_id}/services/{service_id:int}", t.ASSOCIATE_SERVICE,
       srv.associate, "Associate service", 200, body="ServiceStart"),
    Op("CV.WS.SRV.3", "POST", _S + "/end", t.COMPLETE_SERVICE, srv.complete, "Complete service", 204,
       body="ServiceEnd"),
    Op("CV.WS.SRV.14", "GET", _S, t.READ_SERVICE, srv.get, "Query service by id", response="Service"),
    Op("CV.WS.SRV.4", "PUT", _S + "/extensions/{ext}", t.CREATE_SERVICE_EXTENSION, srv.replace_extension["service"],
       "Update service extension", body="ExtensionRecords"),
    Op("CV.WS.SRV.19", "PUT", _S + "/extensions/{ext}/by/unique", t.CREATE_SERVICE_EXTENSION,
       srv.update_extension_record["service"], "Update record in service extension", 204, body="Object"),
    Op("CV.WS.SRV.22", "PUT", _S + "/extensions/{ext}/delete/by/unique", t.DELETE_SERVICE_EXTENSION,
       srv.delete_extension_record["service"], "Delete record from service extension", 204, body="Object"),
    Op("CV.WS.SRV.5", "POST", _S + "/states/start", t.START_STATE, states.start, "Start state", 201,
       body="StateStart", response="StateId"),
    Op("CV.WS.SRV.7", "POST", _S + "/states/transition", t.START_STATE, states.transition,
       "Perform state transition", 201, body="StateTransition", response="StateId"),
    Op("CV.WS.SRV.12", "GET", _S + "/states/active", t.READ_STATE, states.query["active"], "Query active states",
       response="StateList"),
    Op("CV.WS.SRV.12", "GET", _S + "/states/completed", t.READ_STATE, states.query["completed"],
       "Query completed states", response="StateList"),
    Op("CV.WS.SRV.12", "GET", _S + "/states", t.READ_STATE, states.query["all"], "Query states",
       response="StateList"),
    *_spellings(Op("CV.WS.SRV.6", "POST", _ST + "/end", t.COMPLETE_STATE, states.complete, "Complete state", 200,
                   body="StateEnd")),
    *_spellings(Op("CV.WS.SRV.15", "GET", _ST, t.READ_STATE, states.get, "Query state by id", response="State")),
    *_spellings(Op("CV.WS.SRV.17", "PUT", _ST + "/extensions/{ext}", t.CREATE_SERVICE_EXTENSION,
                   srv.replace_extension["state"], "Update state extension", body="ExtensionRecords")),
    *_spellings(Op("CV.WS.SRV.20", "PUT", _ST + "/extensions/{ext}/by/unique", t.CREATE_SERVICE_EXTENSION,
                   srv.update_extension_record["state"], "Update record in state extension", 204, body="Object")),
    *_spellings(Op("CV.WS.SRV.23", "PUT", _ST + "/extensions/{ext}/delete/by/unique", t.DELETE_SERVICE_EXTENSION,
                   srv.delete_extension_record["state"], "Delete record from state extension", 204,
                   body="Object")),
    Op("CV.WS.SRV.8", "POST", _S + "/tasks/start", t.START_TASK, tasks.start, "Start task", 201, body="TaskStart",
       response="TaskId"),
    Op("CV.WS.SRV.13", "GET", _S + "/tasks/active", t.READ_TASK, tasks.query["active"], "Query active tasks",
       response="TaskList"),
    Op("CV.WS.SRV.13", "GET", _S + "/tasks/completed", t.READ_TASK, tasks.query["completed"],
       "Query completed tasks", response="TaskList"),
    Op("CV.WS.SRV.13", "GET", _S + "/tasks", t.READ_TASK, tasks.query["all"], "Query tasks", response="TaskList"),
    *_spellings(Op("CV.WS.SRV.9", "POST", _TK + "/end", t.COMPLETE_TASK, tasks.complete, "Complete task", 204,
                   body="TaskEnd")),
    *_spellings(Op("CV.WS.SRV.16", "GET", _TK, t.READ_TASK, tasks.get, "Query task by id", response="Task")),
    *_spellings(Op("CV.WS.SRV.18", "PUT", _TK + "/extensions/{ext}", t.CREATE_SERVICE_EXTENSION,
                   srv.replace_extension["task"], "Update task extension", body="ExtensionRecords")),
    *_spellings(Op("CV.WS.SRV.21", "PUT", _TK + "/extensions/{ext}/by/unique", t.CREATE_SERVICE_EXTENSION,
                   srv.update_extension_record["task"], "Update record in task extension", 204, body="Object")),
    *_spellings(Op("CV.WS.SRV.24", "PUT", _TK + "/extensions/{ext}/delete/by/unique", t.DELETE_SERVICE_EXTENSION,
                   srv.delete_extension_record["task"], "Delete record from task extension", 204, body="Object")),
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
