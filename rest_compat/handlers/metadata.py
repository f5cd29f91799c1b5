"""Schema operations: CV.WS.PROF.META.*, CV.WS.SRV.META.*, CV.WS.META.*, CV.WS.CONFIG.BA."""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse, Response

from rest_compat.call import Call, no_content, reply
from ucs_graphql.metadata import service
from ucs_graphql.web.pageheaders import page_headers

_LEVEL_PATH = {"profile": "profiles", "service": "services", "state": "states", "task": "tasks"}


async def list_profile_attributes(call: Call) -> Response:
    return reply(await service.list_profile_attributes(call.ctx))


async def add_profile_attributes(call: Call) -> Response:
    names = await service.add_profile_attributes(call.ctx, await call.json())
    body = {"name": names[0]} if len(names) == 1 else [{"name": n} for n in names]
    return reply(body, 201, location=call.location(f"/metadata/profiles#{names[0]}"))


def _create_ext(level: str):  # type: ignore[no-untyped-def]
    async def handler(call: Call) -> Response:
        names = await service.create_extension_schemas(call.ctx, level, await call.json())
        body = {"name": names[0]} if len(names) == 1 else [{"name": n} for n in names]
        return reply(body, 201, location=call.location(f"/metadata/{_LEVEL_PATH[level]}/extensions/{names[0]}"))

    handler.__name__ = f"create_{level}_extension_schema"
    return handler


def _list_ext(level: str):  # type: ignore[no-untyped-def]
    async def handler(call: Call) -> Response:
        return reply(await service.list_extension_schemas(call.ctx, level))

    handler.__name__ = f"list_{level}_extension_schemas"
    return handler


def _get_ext(level: str):  # type: ignore[no-untyped-def]
    async def handler(call: Call) -> Response:
        return reply(await service.get_extension_schema(call.ctx, level, call.path("name")))

    handler.__name__ = f"get_{level}_extension_schema"
    return handler


def _delete_ext(level: str):  # type: ignore[no-untyped-def]
    async def handler(call: Call) -> Response:
        await service.delete_extension_schema(call.ctx, level, call.path("name"))
        return no_content()

    handler.__name__ = f"delete_{level}_extension_schema"
    return handler


create_extension_schema = {lvl: _create_ext(lvl) for lvl in _LEVEL_PATH}
list_extension_schemas = {lvl: _list_ext(lvl) for lvl in _LEVEL_PATH}
get_extension_schema = {lvl: _get_ext(lvl) for lvl in _LEVEL_PATH}
delete_extension_schema = {lvl: _delete_ext(lvl) for lvl in _LEVEL_PATH}


async def create_identification_key(call: Call) -> Response:
    name = await service.create_identification_key(call.ctx, await call.json())
    return reply({"name": name}, 201, location=call.location(f"/metadata/identification-keys/{name}"))


async def list_identification_keys(call: Call) -> Response:
    return reply(await service.list_identification_keys(call.ctx))


async def get_identification_key(call: Call) -> Response:
    return reply(await service.get_identification_key(call.ctx, call.path("name")))


async def delete_identification_key(call: Call) -> Response:
    await service.delete_identification_key(call.ctx, call.path("name"))
    return no_content()


async def metadata_index(call: Call) -> Response:
    """JSON or HTML, chosen by Accept, or by Content-Type as the reference's examples send it."""
    links = service.metadata_index(call.base_url())
    accept = call.request.headers.get("accept", "")
    ctype = call.request.headers.get("content-type", "")
    wants_html = "text/html" in ctype or ("text/html" in accept and "application/json" not in ctype)
    if wants_html:
        items = "".join(
            f'<a href="{html.escape(url)}">{html.escape(name)}</a><br/>' for name, url in links.items()
        )
        return HTMLResponse(f"<html><body><h1>Available Resources</h1><br/>{items}</body></html>",
                            headers=page_headers())
    return reply(links)


async def business_attributes(call: Call) -> Response:
    cv = call.query.get("cv-attribute")
    return reply(await service.query_business_attributes(call.ctx, cv_attribute=cv))


async def business_attribute(call: Call) -> Response:
    return reply(await service.query_business_attributes(call.ctx, name=call.path("name")))


async def roles(call: Call) -> Response:
    return reply(await service.query_roles(call.ctx))


async def reload_cache(call: Call) -> Response:
    await call.request.body()
    await service.reload_cache(call.ctx)
    return no_content(200)
