"""The OpenAPI 3.1 document of every REST operation, generated from the route table, and /docs."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from rest_compat.routes import ROUTES, Op
from ucs_graphql import __version__
from ucs_graphql.kit.error_table import ERROR_TABLE
from ucs_graphql.runtime import Runtime
from ucs_graphql.web.middleware import MAX_TENANT
from ucs_graphql.web.pageheaders import page_headers
from ucs_graphql.web.responses import JsonResponse

_ANY: dict[str, Any] = {}
# Schema, attribute, extension and key names (ucs_graphql.kit.names.check_name; reserved words aside).
_NAME: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": "^[A-Za-z][A-Za-z0-9_]*$"}


def _any_case(word: str) -> str:
    """A regular-expression alternative matching `word` in any letter case."""
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


_OBJ: dict[str, Any] = {"type": "object", "additionalProperties": True}

COMPONENTS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["http_method", "title", "description", "code", "uri"],
        "properties": {
            "http_method": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "code": {"type": "integer", "enum": sorted({r.code for r in ERROR_TABLE.values() if r.status >= 400})},
            "uri": {"type": "string"},
        },
    },
    "Name": {"oneOf": [
        {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
    ]},
    "ServerStatus": {"type": "object", "properties": {
        "version": {"type": "string"}, "system_time": {"type": "string"},
        "mode": {"type": "string", "enum": ["production", "maintenance"]},
        "started": {"type": "string"}, "last_request": {"type": ["string", "null"]},
        "request_today": {"type": "integer"}, "client_errors_today": {"type": "integer"},
        "server_errors_today": {"type": "integer"}, "max_memory": {"type": "integer"},
        "allocated_memory": {"type": "integer"}, "used_memory": {"type": "integer"},
        "free_memory": {"type": "integer"}}},
    "ServerMode": {"type": "object", "required": ["mode"], "properties": {
        "mode": {"type": "string", "description": "production or maintenance (case-insensitive)",
                 "pattern": "^\\s*(" + "|".join(_any_case(m) for m in ("production", "maintenance")) + ")\\s*$"}}},
    "ServerChanged": {"type": "object", "properties": {"server changed": {"type": "string"}}},
    "MetadataIndex": {"type": "object", "additionalProperties": {"type": "string"}},
    "AttributeSchema": {"type": "object", "required": ["name", "type"], "properties": {
        "name": {**_NAME, "maxLength": 30},
        "type": {"type": "string", "description": "boolean, string, integer, long, double, date, datetime, currency"},
        "length": {"type": ["integer", "string"]}, "default": _ANY, "mandatory": {"type": ["boolean", "string"]},
        "encrypt": {"type": ["boolean", "string"]}}},
    "AttributeSchemaList": {"type": "array", "items": {"$ref": "#/components/schemas/AttributeSchema"}},
    "AttributeSchemaOrList": {"oneOf": [{"$ref": "#/components/schemas/AttributeSchema"},
                                        {"$ref": "#/components/schemas/AttributeSchemaList"}]},
    "ExtensionSchema": {"type": "object", "required": ["name", "type"], "properties": {
        "name": {**_NAME, "maxLength": 26},
        "type": {"type": "string", "enum": ["single-valued", "multi-valued", "classifier"]},
        "attributes": {"type": "array", "items": {"$ref": "#/components/schemas/AttributeSchema"}},
        "unique": {"type": "array", "items": {"oneOf": [{"type": "string"},
                                                          {"type": "array", "items": {"type": "string"}}]}}}},
    "ExtensionSchemaList": {"type": "array", "items": {"$ref": "#/components/schemas/ExtensionSchema"}},
    "ExtensionSchemaOrList": {"oneOf": [{"$ref": "#/components/schemas/ExtensionSchema"},
                                        {"$ref": "#/components/schemas/ExtensionSchemaList"}]},
    "IdentificationKey": {"type": "object", "required": ["name", "attributes"], "properties": {
        "name": {**_NAME, "maxLength": 26}, "source": {"type": "string"},
        "extension": {"type": "string"}, "attributes": {"type": "array", "items": {"type": "string"}},
        "unique": {"type": ["boolean", "string"]},
        "normalize": {"type": "string", "enum": ["phone", "email", "casefold"]}}},
    "IdentificationKeyList": {"type": "array", "items": {"$ref": "#/components/schemas/IdentificationKey"}},
    "BusinessAttribute": {"type": "object", "properties": {
        "name": {"type": "string"}, "dbid": {"type": ["integer", "string"]}, "display_name": {"type": "string"},
        "description": {"type": "string"}, "map_name": {"type": "boolean"},
        "cv_attributes": {"type": "array", "items": {"type": "string"}},
        "values": {"type": "array", "items": _OBJ}}},
    "BusinessAttributeOrList": {"oneOf": [
        {"$ref": "#/components/schemas/BusinessAttribute"},
        {"type": "array", "items": {"$ref": "#/components/schemas/BusinessAttribute"}}]},
    "RoleList": {"type": "array", "items": {"type": "object", "properties": {
        "role_name": {"type": "string"}, "role_DBID": {"type": ["integer", "string"]},
        "role_enabled": {"type": "boolean"},
        "tasks": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "capableOf": {"type": "boolean"}}}}}}},
    "Object": _OBJ,
    "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "alive"}}},
    "Ready": {"type": "object", "required": ["status", "revision"], "properties": {
        "status": {"const": "ready"}, "revision": {"type": ["string", "null"]}}},
}



def _handler_components() -> dict[str, Any]:
    """Component schemas that handler modules declare in a module-level COMPONENTS dict."""
    import importlib
    import pkgutil

    import rest_compat.handlers as pkg

    out: dict[str, Any] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        out.update(getattr(module, "COMPONENTS", {}))
    return out


# REST errors only: a GraphQL-only row answered with 200 (an unknown persisted query) is not a REST answer.
_ERROR_STATUSES = sorted({r.status for r in ERROR_TABLE.values() if r.status >= 400})
_PARAM = re.compile(r"{([^}:]+)(?::([a-z]+))?}")


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(op: Op) -> dict[str, Any]:
    params = []
    for name, conv in _PARAM.findall(op.path):
        params.append({"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer"} if conv == "int" else {"type": "string"}})
    params.append({"name": "X-Genesys-TenantId", "in": "header", "required": False,
                   "description": "the tenant (absent or empty: tenant 1)",
                   "schema": {"type": "integer", "minimum": 1, "maximum": MAX_TENANT}})
    success: dict[str, Any] = {"description": "success"}
    if op.response:
        success["content"] = {"application/json": {"schema": _ref(op.response)}}
    responses: dict[str, Any] = {str(op.status): success}
    for status in _ERROR_STATUSES:
        responses[str(status)] = {"description": "error", "content": {"application/json": {"schema": _ref("Error")}}}
    doc: dict[str, Any] = {
        "operationId": f"{op.ref}:{op.method}:{op.path}",
        "summary": op.summary,
        "description": f"Reference id {op.ref}; access task {op.task}.",
        "tags": [op.path.split("/")[1]],
        "parameters": params,
        "responses": responses,
        "x-ucs-ref": op.ref,
        "x-ucs-task": op.task,
    }
    if op.body:
        doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(op.body)}}}
    return doc


def _operational(op_id: str, summary: str, success: dict[str, Any], unavailable: bool = False) -> dict[str, Any]:
    """An operational path (health, readiness, metrics): not a reference operation, no access task,
    served while the mode switches and outside rate limits (docs/operations.md)."""
    responses: dict[str, Any] = {"200": {"description": "success", "content": success}}
    if unavailable:
        responses["503"] = {"description": "not ready", "content": {"application/json": {"schema": _ref("Error")}}}
    return {"get": {"operationId": op_id, "summary": summary, "tags": ["operations"], "responses": responses,
                    "x-ucs-operational": True}}


OPERATIONAL_PATHS: dict[str, Any] = {
    "/healthz": _operational("ops.healthz", "Liveness: the process answers",
                             {"application/json": {"schema": _ref("Health")}}),
    "/readyz": _operational("ops.readyz", "Readiness: the database answers and its schema is current",
                            {"application/json": {"schema": _ref("Ready")}}, unavailable=True),
    "/metrics": _operational("ops.metrics", "Prometheus metrics (text exposition format)",
                             {"text/plain": {"schema": {"type": "string"}}}),
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the route table and the operational paths."""
    paths: dict[str, Any] = {}
    for op in ROUTES:
        path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", op.path)
        paths.setdefault(path, {})[op.method.lower()] = _operation(op)
    paths.update(OPERATIONAL_PATHS)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ucs-graphql: Context Services 8.1 REST API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": {**COMPONENTS, **_handler_components()},
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "an API token `<name>.<secret>` from `ucs-graphql hash-password --token`"},
            },
        },
        # Credentials are needed when users are configured; a server without users runs open (docs/access.md).
        "security": [{"basic": []}, {"bearer": []}, {}],
    }


_DOCS_HTML = """<!doctype html><html><head><title>ucs-graphql REST API</title><meta charset="utf-8"/>
<link rel="icon" href="data:,"/>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left}
code{background:#f4f4f4}</style></head><body><h1>ucs-graphql REST API</h1>
<p>The machine-readable document is at <a href="openapi.json">openapi.json</a>; GraphQL is at
<a href="graphql">graphql</a>.</p><table><tr><th>Method</th><th>Path</th><th>Reference id</th><th>Task</th>
<th>Summary</th></tr>%s</table></body></html>"""


def openapi_routes(runtime: Runtime) -> list[BaseRoute]:
    """GET /openapi.json and GET /docs (a readable rendering of the same document)."""
    document = openapi_document()

    async def spec(_request: Request) -> Response:
        return JsonResponse(document)

    async def docs(_request: Request) -> Response:
        rows = "".join(
            f"<tr><td>{op.method}</td><td><code>{op.path}</code></td><td>{op.ref}</td><td>{op.task}</td>"
            f"<td>{op.summary}</td></tr>" for op in ROUTES
        )
        return HTMLResponse(_DOCS_HTML % rows, headers=page_headers())

    out: list[BaseRoute] = []
    for prefix in ["", runtime.settings.base_path] if runtime.settings.base_path else [""]:
        out += [Route(prefix + "/openapi.json", spec, methods=["GET"]), Route(prefix + "/docs", docs, methods=["GET"])]
    return out
