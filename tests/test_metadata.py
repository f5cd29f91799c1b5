"""Schema metadata through REST and GraphQL: extension schemas, keys, profile attributes, lookups."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from tests.helpers import assert_error, error_code, gql, set_mode
from ucs_graphql.config import load_settings
from ucs_graphql.db.engine import throwaway_engine
from ucs_graphql.db.tables.server import server_worker
from ucs_graphql.metadata import cache
from ucs_graphql.web.app import create_runtime

ADDRESS = {
    "name": "Address", "type": "single-valued",
    "attributes": [
        {"name": "AddressType", "type": "integer", "default": 0},
        {"name": "Address", "type": "string", "length": 256},
        {"name": "City", "type": "string", "length": "32", "mandatory": "true"},
    ],
}
PHONE = {
    "name": "Phone", "type": "multi-valued",
    "attributes": [
        {"name": "PhoneType", "type": "integer", "default": 0, "mandatory": "true"},
        {"name": "PhoneNumber", "type": "string", "length": 15, "mandatory": "true"},
        {"name": "start_availability", "type": "datetime"},
    ],
    "unique": ["PhoneNumber"],
}


@pytest.mark.parametrize("level", ["profiles", "services", "states", "tasks"])
async def test_extension_schema_lifecycle(client, level):
    resp = await client.post(f"/metadata/{level}/extensions", json=PHONE)
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"name": "Phone"}
    assert resp.headers["location"] == f"/metadata/{level}/extensions/Phone"
    got = (await client.get(f"/metadata/{level}/extensions/pHoNe")).json()
    assert got["name"] == "Phone" and got["type"] == "multi-valued"
    assert got["attributes"][1] == {"name": "PhoneNumber", "type": "string", "length": 15, "mandatory": True,
                                    "encrypt": False}
    assert got["attributes"][0]["default"] == 0
    assert got["unique"] == ["PhoneNumber"]
    assert [s["name"] for s in (await client.get(f"/metadata/{level}/extensions")).json()] == ["Phone"]
    assert_error(await client.post(f"/metadata/{level}/extensions", json={**PHONE, "name": "PHONE"}), 409, 4090)
    assert_error(await client.delete(f"/metadata/{level}/extensions/phone"), 403, 4031)
    await set_mode(client, "maintenance")
    assert (await client.delete(f"/metadata/{level}/extensions/phone")).status_code == 204
    assert_error(await client.delete(f"/metadata/{level}/extensions/phone"), 404, 4040)
    assert_error(await client.get(f"/metadata/{level}/extensions/phone"), 404, 4040)


async def test_array_of_schemas_creates_each(client):
    resp = await client.post("/metadata/states/extensions", json=[
        {"name": "Feedback", "type": "single-valued", "attributes": [{"name": "rating", "type": "integer"}]},
        {"name": "PriorityFlag", "type": "single-valued", "attributes": [{"name": "priority", "type": "integer"}]},
    ])
    assert resp.status_code == 201
    assert resp.json() == [{"name": "Feedback"}, {"name": "PriorityFlag"}]
    names = [s["name"] for s in (await client.get("/metadata/states/extensions")).json()]
    assert names == ["Feedback", "PriorityFlag"]


async def test_classifier_only_for_profiles(client):
    resp = await client.post("/metadata/profiles/extensions", json={"name": "VIP", "type": "classifier"})
    assert resp.status_code == 201
    assert (await client.get("/metadata/profiles/extensions/vip")).json()["attributes"] == []
    resp = await client.post("/metadata/services/extensions", json={"name": "VIP", "type": "classifier"})
    assert_error(resp, 400, 4020, "classifier")


@pytest.mark.parametrize("body, fragment", [
    ({"type": "single-valued", "attributes": []}, "name"),
    ({"name": "1abc", "type": "single-valued", "attributes": [{"name": "a", "type": "string"}]}, "must start"),
    ({"name": "a" * 27, "type": "single-valued", "attributes": [{"name": "a", "type": "string"}]}, "26"),
    ({"name": "ok", "type": "weird", "attributes": [{"name": "a", "type": "string"}]}, "type"),
    ({"name": "ok", "type": "single-valued", "attributes": [{"name": "a", "type": "float"}]}, "a.type"),
    ({"name": "ok", "type": "single-valued", "attributes": [{"name": "a", "type": "string", "length": 4001}]}, "4000"),
    ({"name": "ok", "type": "single-valued", "attributes": [{"name": "a", "type": "string", "length": "x"}]}, "integer"),
    ({"name": "ok", "type": "single-valued", "attributes": [{"name": "a", "type": "integer", "mandatory": "maybe"}]},
     "boolean"),
    ({"name": "ok", "type": "single-valued", "attributes": [{"name": "a" * 31, "type": "string"}]}, "30"),
    ({"name": "ok", "type": "multi-valued", "attributes": [{"name": "a", "type": "string"}], "unique": ["b"]},
     "'b' is not an attribute"),
    ({"name": "ok", "type": "multi-valued", "attributes": [{"name": "a", "type": "string"}], "unique": [["a", 3]]},
     "unique"),
    ({"name": "ok", "type": "single-valued", "attributes": [{"name": "a", "type": "integer", "default": "x"}]},
     "a.default"),
    ({"name": "ok", "type": "single-valued", "attributes": [{"name": "car type", "type": "string"}]}, "must start"),
])
async def test_bad_schemas_are_400_naming_the_field(client, body, fragment):
    resp = await client.post("/metadata/tasks/extensions", json=body)
    assert_error(resp, 400, contains=fragment)


@pytest.mark.parametrize("name", ["Select", "service", "VARCHAR2", "null"])
async def test_reserved_words_are_refused_with_the_reference_message(client, name):
    resp = await client.post("/metadata/services/extensions",
                             json={"name": name, "type": "single-valued", "attributes": [{"name": "a", "type": "string"}]})
    assert_error(resp, 400, 4022, f"bad parameter 'name' reason : '{name}' keyword is not authorized.")
    resp = await client.post("/metadata/services/extensions",
                             json={"name": "ok", "type": "single-valued", "attributes": [{"name": name, "type": "string"}]})
    assert_error(resp, 400, 4022, f"'{name}' keyword is not authorized.")


async def test_unique_accepts_names_and_groups(client):
    body = {"name": "Bill", "type": "multi-valued", "attributes": [
        {"name": "bill_id", "type": "string"}, {"name": "ext", "type": "string"}, {"name": "n", "type": "long"}],
        "unique": ["bill_id", ["ext", "n"]]}
    assert (await client.post("/metadata/services/extensions", json=body)).status_code == 201
    assert (await client.get("/metadata/services/extensions/bill")).json()["unique"] == ["bill_id", ["ext", "n"]]


async def test_identification_keys(client):
    assert (await client.post("/metadata/profiles/extensions", json=PHONE)).status_code == 201
    await set_mode(client, "maintenance")
    resp = await client.post("/metadata/identification-keys", json={"name": "idPhone", "attributes": ["PhoneNumber"]})
    assert resp.status_code == 201 and resp.json() == {"name": "idPhone"}
    assert resp.headers["location"] == "/metadata/identification-keys/idPhone"
    resp = await client.post("/metadata/identification-keys",
                             json={"name": "idExt", "extension": "phone", "attributes": ["PhoneNumber"], "unique": "true"})
    assert resp.status_code == 201
    keys = (await client.get("/metadata/identification-keys")).json()
    assert keys == [
        {"name": "idPhone", "source": "profile", "attributes": ["PhoneNumber"], "unique": False},
        {"name": "idExt", "source": "Phone", "attributes": ["Phone.PhoneNumber"], "unique": True},
    ]
    assert (await client.get("/metadata/identification-keys/IDEXT")).json()["name"] == "idExt"
    assert_error(await client.post("/metadata/identification-keys",
                                   json={"name": "IDPHONE", "attributes": ["FirstName"]}), 409, 4090)
    assert_error(await client.post("/metadata/identification-keys",
                                   json={"name": "k2", "attributes": ["NoSuchAttr"]}), 400, 4020, "NoSuchAttr")
    assert_error(await client.post("/metadata/identification-keys",
                                   json={"name": "k2", "source": "nope", "attributes": ["a"]}), 400, 4020, "source")
    assert_error(await client.post("/metadata/identification-keys",
                                   json={"name": "k2", "source": "Phone", "attributes": ["FirstName"]}), 400, 4020)
    assert_error(await client.post("/metadata/identification-keys",
                                   json={"name": "k2", "attributes": ["PhoneNumber"], "normalize": "rot13"}), 400)
    # A profile extension used by a key cannot be deleted.
    assert_error(await client.delete("/metadata/profiles/extensions/phone"), 409, 4091, "idExt")
    assert (await client.delete("/metadata/identification-keys/idext")).status_code == 204
    assert (await client.delete("/metadata/profiles/extensions/phone")).status_code == 204
    assert_error(await client.delete("/metadata/identification-keys/idext"), 404, 4040)


async def test_profile_schema_lists_predefined_and_added_attributes(make_client):
    client = await make_client(config_text='media_types = ["voice", "chat"]\n'
                                           '[[profile_attributes]]\nname = "AccountNumber"\ntype = "string"\n')
    attrs = (await client.get("/metadata/profiles")).json()
    names = [a["name"] for a in attrs]
    for expected in ("FirstName", "LastName", "PhoneNumber", "EmailAddress", "Title", "LastCalledAgent_EmployeeID",
                     "LastCalledAgent_TimeStamp", "PreferredAgent_EmployeeID", "LCA_EmplID_voice",
                     "LCA_TimeStamp_chat", "Pref_EmplID_chat", "AccountNumber"):
        assert expected in names
    assert "LCA_EmplID_email" not in names
    assert {"encrypt": False, "name": "FirstName", "length": 256, "type": "string"} in attrs
    await set_mode(client, "maintenance")
    resp = await client.post("/metadata/profiles", json=[{"name": "PIN", "type": "string", "encrypt": True},
                                                         {"name": "Birth", "type": "datetime"}])
    assert resp.status_code == 201
    names = [a["name"] for a in (await client.get("/metadata/profiles")).json()]
    assert "PIN" in names and "Birth" in names
    assert_error(await client.post("/metadata/profiles", json={"name": "pin", "type": "string"}), 409, 4090)
    assert_error(await client.post("/metadata/profiles", json={"name": "Age", "type": "integer"}), 400, 4020,
                 "string or datetime")


async def test_business_attributes(make_client):
    client = await make_client()
    all_ba = (await client.get("/metadata/business-attributes")).json()
    assert {b["name"] for b in all_ba} >= {"MediaType", "ServiceType", "StateType", "TaskType", "DispositionCode",
                                           "ApplicationType", "ResourceType"}
    state = (await client.get("/metadata/business-attributes/StateType")).json()
    assert len(state["values"]) == 10
    assert state["values"][7]["display_name"] == "Delivering service"
    for field in ("name", "dbid", "display_name", "description", "map_name", "cv_attributes", "values"):
        assert field in state
    media = (await client.get("/metadata/business-attributes", params={"cv-attribute": "Task.media_type"})).json()
    assert media["name"] == "MediaType"
    assert_error(await client.get("/metadata/business-attributes/Nope"), 404, 4040)
    assert_error(await client.get("/metadata/business-attributes", params={"cv-attribute": "Foo.bar"}), 404)


async def test_roles_from_configuration(make_client):
    client = await make_client(config_text='[[roles]]\nname = "agents"\ndbid = 110\n'
                                           'tasks = ["UCS.Service.startService", "UCS.Service.readService"]\n'
                                           '[[roles]]\nname = "off"\nenabled = false\ntasks = []\n')
    roles = (await client.get("/metadata/roles")).json()
    assert roles[0] == {"role_DBID": 110, "role_enabled": True, "role_name": "agents", "tasks": [
        {"capableOf": True, "name": "UCS.Service.startService"}, {"capableOf": True, "name": "UCS.Service.readService"}]}
    assert roles[1]["role_enabled"] is False


async def test_metadata_index_json_and_html(client):
    body = (await client.get("/metadata", headers={"Accept": "application/json"})).json()
    assert body["Tasks Extensions"] == "http://testserver/metadata/tasks/extensions"
    assert body["identification-keys schemas"].endswith("/metadata/identification-keys")
    resp = await client.get("/metadata", headers={"Content-Type": "text/html"})
    assert resp.headers["content-type"].startswith("text/html")
    assert '<a href="http://testserver/metadata/services/extensions">Services Extensions</a>' in resp.text


async def test_cache_reload_is_seen_by_another_worker(make_client):
    a = await make_client()
    b = await make_client()
    assert (await b.get("/metadata/tasks/extensions")).json() == []
    assert (await a.post("/metadata/tasks/extensions", json=PHONE)).status_code == 201
    resp = await b.put("/metadata/cache", json={"reload": True})
    assert resp.status_code == 200 and resp.content == b""
    assert [s["name"] for s in (await b.get("/metadata/tasks/extensions")).json()] == ["Phone"]


async def registered(url: str, workers: int) -> None:
    """Wait until `workers` workers are registered in server_worker."""
    engine = throwaway_engine(url)
    try:
        async with asyncio.timeout(10):
            while True:
                async with engine.connect() as conn:
                    live = await conn.scalar(select(func.count()).select_from(server_worker))
                if live >= workers:
                    return
                await asyncio.sleep(0.02)
    finally:
        await engine.dispose()


async def test_a_schema_created_through_one_worker_is_used_at_once_through_another(make_client, database_url):
    a = await make_client()
    b = await make_client()
    await registered(database_url, 2)
    for n, (writer, reader) in enumerate([(a, b), (b, a)] * 3):
        assert len((await reader.get("/metadata/services/extensions")).json()) == n  # cached by the reader
        resp = await writer.post("/metadata/services/extensions", json={**PHONE, "name": f"Phone{n}"})
        assert resp.status_code == 201, resp.text
        got = await reader.get(f"/metadata/services/extensions/Phone{n}")
        assert got.status_code == 200, got.text
        service = await reader.post("/services/start", json={"service_type": 1, "contact_key": "ck",
                                                             f"Phone{n}": [{"PhoneType": 1, "PhoneNumber": "1"}]})
        assert service.status_code == 201, service.text


async def test_schemas_loaded_while_they_were_invalidated_are_not_kept(database_url, monkeypatch):
    rt = create_runtime(load_settings({"database_url": database_url}, environ={}))
    loads = []
    load = cache.store.load_documents

    async def load_meanwhile_invalidated(conn, tenant):
        docs = await load(conn, tenant)
        loads.append(tenant)
        if len(loads) == 1:  # a change committed meanwhile: the watcher applies its generation
            rt.schemas.generation += 1
            rt.schemas.invalidate()
        return docs

    monkeypatch.setattr(cache.store, "load_documents", load_meanwhile_invalidated)
    try:
        await rt.schemas.get(rt.db, 1)
        await rt.schemas.get(rt.db, 1)
        await rt.schemas.get(rt.db, 1)
    finally:
        await rt.db.dispose()
    assert loads == [1, 1]  # the first load served its request only; the second is kept


async def test_graphql_metadata_mirrors_rest(client):
    body = await gql(client, "mutation($s: JSON!) { createExtensionSchemas(level: SERVICE, schemas: $s) }",
                     {"s": PHONE})
    assert body["data"]["createExtensionSchemas"] == ["Phone"]
    body = await gql(client, "{ extensionSchema(level: SERVICE, name: \"phone\") { name type unique "
                             "attributes { name type length mandatory default } } }")
    schema = body["data"]["extensionSchema"]
    assert schema["unique"] == ["PhoneNumber"] and schema["attributes"][0]["default"] == 0
    body = await gql(client, "mutation($s: JSON!) { createExtensionSchemas(level: SERVICE, schemas: $s) }",
                     {"s": PHONE})
    assert error_code(body) == "ALREADY_EXISTS"
    body = await gql(client, "{ extensionSchema(level: TASK, name: \"phone\") { name } }")
    assert error_code(body) == "NOT_FOUND"
    body = await gql(client, 'mutation { deleteExtensionSchema(level: SERVICE, name: "phone") }')
    assert error_code(body) == "MODE_FORBIDDEN"
    body = await gql(client, '{ businessAttributes(name: "MediaType") identificationKeys { name } roles }')
    assert body["data"]["businessAttributes"]["name"] == "MediaType"
