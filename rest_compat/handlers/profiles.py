"""Profile operations: CV.WS.PROF.1/2/3/4/6/7/8, CV.WS.PROF.MERGE.1 and identification (CV.WS.CUSTID.1)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from rest_compat.call import Call, no_content, reply
from ucs_graphql.identification import service as identification
from ucs_graphql.profiles import merge, service

_OBJ: dict[str, Any] = {"type": "object", "additionalProperties": True}

COMPONENTS: dict[str, Any] = {
    "CustomerProfile": {
        "type": "object", "additionalProperties": True,
        "description": "customer_id, profile attributes at the top level (a string/datetime or an array of "
                       "them, primary first), and extensions by name (an object when single-valued, an array "
                       "when multi-valued).",
        "properties": {"customer_id": {"type": "string", "maxLength": 16}}},
    "CustomerProfileOrList": {"oneOf": [
        {"$ref": "#/components/schemas/CustomerProfile"},
        {"type": "array", "items": {"$ref": "#/components/schemas/CustomerProfile"}}]},
    "CustomerId": {"type": "object", "required": ["customer_id"],
                   "properties": {"customer_id": {"type": "string"}}},
    "ProfileExtensions": {"type": "object", "additionalProperties": True,
                          "description": "extension name -> record (single-valued) or records (multi-valued)",
                          "properties": {"customer_id": {"type": "string"}}},
    "ExtensionRecord": _OBJ,
    "MergeOptions": {"type": "object", "properties": {
        "keep_uniq_from_src": {"type": ["boolean", "string"]},
        "keep_active_service_only": {"type": ["boolean", "string"]}}},
}


async def create_profile(call: Call) -> Response:
    customer_id = await service.create_profile(call.ctx, await call.json())
    return reply({"customer_id": customer_id}, 201, location=call.location(f"/profiles/{customer_id}"))


async def get_profile(call: Call) -> Response:
    return reply(await service.get_profile(call.ctx, call.path("customer_id"), call.query.get("extensions")))


async def update_profile(call: Call) -> Response:
    await service.update_profile(call.ctx, call.path("customer_id"), await call.json())
    return reply([])


async def delete_profile(call: Call) -> Response:
    await service.delete_profile(call.ctx, call.path("customer_id"))
    return no_content(200)


async def insert_extensions(call: Call) -> Response:
    await service.insert_extensions(call.ctx, call.path("customer_id"), await call.json())
    return no_content(200)


async def update_extension_record(call: Call) -> Response:
    await service.update_extension_record(call.ctx, call.path("customer_id"), call.path("ext"), await call.json())
    return no_content()


async def delete_extension_record(call: Call) -> Response:
    await service.delete_extension_record(call.ctx, call.path("customer_id"), call.path("ext"), await call.json())
    return no_content()


async def merge_profiles(call: Call) -> Response:
    body = await call.json(required=False)
    await merge.merge_profiles(call.ctx, call.path("customer_id"), call.path("src_id"), body)
    return no_content()


async def identify(call: Call) -> Response:
    return reply(await identification.identify_query(call.ctx, call.query.multi_items()))
