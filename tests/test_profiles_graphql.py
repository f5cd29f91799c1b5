"""Profiles over GraphQL: the same use cases and error codes as REST; batched loading."""

from __future__ import annotations

from tests.helpers import error_code, gql, set_mode
from tests.profile_fixtures import ADDRESS, BRUCE, PHONE, count_statements, create, data_statements, define

ID_PHONE = {"name": "idPhone", "source": "Phone", "attributes": ["PhoneNumber"], "normalize": "phone"}
FIELDS = "customerId attributes extensions"


async def test_profile_crud_and_extension_records(client):
    await define(client, PHONE, ADDRESS)
    body = await gql(client, "mutation($p: JSON!) { createProfile(profile: $p) { customerId attributes "
                             "extensions(names: [\"Phone\"]) } }", {"p": BRUCE})
    created = body["data"]["createProfile"]
    cid = created["customerId"]
    assert created["attributes"]["EmailAddress"] == BRUCE["EmailAddress"]
    assert [p["PhoneNumber"] for p in created["extensions"]["Phone"]] == ["3145926535", "6543210"]
    body = await gql(client, "query($c: String!) { profile(customerId: $c, extensions: [\"Address\"]) "
                             f"{{ {FIELDS} }} }}", {"c": cid})
    assert body["data"]["profile"]["extensions"] == {"Address": None}
    body = await gql(client, "mutation($c: String!, $p: JSON!) { updateProfile(customerId: $c, profile: $p) "
                             "{ attributes } }", {"c": cid, "p": {"FirstName": "Robert"}})
    assert body["data"]["updateProfile"]["attributes"] == {"FirstName": "Robert"}
    body = await gql(client, "mutation($c: String!, $e: JSON!) { insertProfileExtensions(customerId: $c, "
                             "extensions: $e) { extensions(names: [\"Address\", \"Phone\"]) } }",
                     {"c": cid, "e": {"Address": {"City": "Oslo"}, "Phone": [{"PhoneNumber": "9"}]}})
    exts = body["data"]["insertProfileExtensions"]["extensions"]
    assert exts["Address"]["City"] == "Oslo" and len(exts["Phone"]) == 3
    body = await gql(client, "mutation($c: String!, $r: JSON!) { u: updateProfileExtensionRecord(customerId: $c, "
                             "extension: \"Phone\", record: $r) }", {"c": cid, "r": {"PhoneNumber": "9", "prefix": "+1"}})
    assert body["data"]["u"] is True
    body = await gql(client, "mutation($c: String!, $r: JSON!) { d: deleteProfileExtensionRecord(customerId: $c, "
                             "extension: \"Phone\", record: $r) }", {"c": cid, "r": {"PhoneNumber": "6543210"}})
    assert body["data"]["d"] is True
    phones = (await client.get(f"/profiles/{cid}?extensions=Phone")).json()["Phone"]
    assert {p["PhoneNumber"]: p.get("prefix") for p in phones} == {"3145926535": "+33", "9": "+1"}
    body = await gql(client, "mutation($c: String!) { deleteProfile(customerId: $c) }", {"c": cid})
    assert body["data"]["deleteProfile"] is True
    body = await gql(client, "query($c: String!) { profile(customerId: $c) { customerId } }", {"c": cid})
    assert error_code(body) == "NOT_FOUND"


async def test_error_codes_match_rest(client):
    await define(client, PHONE, keys=[{**ID_PHONE, "unique": True}])
    await create(client, {"Phone": [{"PhoneNumber": "1"}]})
    cases = [
        ('mutation { createProfile(profile: {Nope: "x"}) { customerId } }', "BAD_PARAMETER"),
        ('mutation { createProfile(profile: {Phone: [{PhoneNumber: "1"}]}) { customerId } }', "ALREADY_EXISTS"),
        ('mutation { updateProfile(customerId: "nobody", profile: {}) { customerId } }', "NOT_FOUND"),
        ('mutation { mergeProfiles(customerId: "a", sourceId: "a") { customerId } }', "BAD_PARAMETER"),
        ('mutation { updateProfileExtensionRecord(customerId: "x", extension: "Nope", record: {}) }', "NOT_FOUND"),
        ('{ identify(attributes: {Shoe: "1"}) { customerId } }', "BAD_PARAMETER"),
        ('{ identify(attributes: {PhoneNumber: "1"}, idKey: "nope") { customerId } }', "NOT_FOUND"),
    ]
    for query, code in cases:
        assert error_code(await gql(client, query)) == code, query
    await set_mode(client, "maintenance")
    assert error_code(await gql(client, '{ profile(customerId: "x") { customerId } }')) == "MODE_FORBIDDEN"


async def test_identify_and_merge(client):
    await define(client, PHONE, keys=[ID_PHONE])
    a = await create(client, {"FirstName": "A", "Phone": [{"PhoneNumber": "+1 555 0100"}]})
    b = await create(client, {"FirstName": "B", "Phone": [{"PhoneNumber": "+15550100"}, {"PhoneNumber": "7"}]})
    query = ("query($a: JSON!, $m: IncludeExtensions!) { identify(attributes: $a, extensions: [\"Phone\"], "
             "includeExtensions: $m) { customerId attributes extensions } }")
    found = (await gql(client, query, {"a": {"Phone.PhoneNumber": "+1-555-0100"}, "m": "UNIQUE"}))["data"]["identify"]
    assert sorted(f["customerId"] for f in found) == sorted([a, b])
    assert all(f["extensions"] is None for f in found)
    found = (await gql(client, query, {"a": {"Phone.PhoneNumber": ["7", "8"]}, "m": "UNIQUE"}))["data"]["identify"]
    assert [f["customerId"] for f in found] == [b] and len(found[0]["extensions"]["Phone"]) == 2
    body = await gql(client, "mutation($d: String!, $s: String!) { mergeProfiles(customerId: $d, sourceId: $s, "
                             "keepUniqFromSrc: true) { attributes } }", {"d": a, "s": b})
    assert body["data"]["mergeProfiles"]["attributes"] == {"FirstName": ["A", "B"]}
    found = (await gql(client, query, {"a": {"Phone.PhoneNumber": "7"}, "m": "ALWAYS"}))["data"]["identify"]
    assert [f["customerId"] for f in found] == [a]


async def test_many_profiles_with_extensions_cost_a_constant_number_of_statements(client):
    await define(client, PHONE, ADDRESS)
    ids = [await create(client, {"FirstName": f"c{i}", "Phone": [{"PhoneNumber": str(i)}],
                                 "Address": {"City": f"city{i}"}}) for i in range(12)]
    query = ("query($ids: [String!]!) { profiles(customerIds: $ids, extensions: [\"Phone\", \"Address\"]) "
             "{ customerId attributes extensions other: extensions(names: [\"Phone\"]) } }")
    await gql(client, query, {"ids": ids[:1]})  # warm the schema cache
    seen = count_statements(client)
    costs = []
    for n in (2, 12):
        seen.clear()
        body = await gql(client, query, {"ids": [*ids[:n], "unknown"]})
        got = body["data"]["profiles"]
        assert len(got) == n + 1 and got[-1] is None
        assert got[n - 1]["extensions"]["Address"]["City"] == f"city{n - 1}"
        assert got[n - 1]["other"]["Phone"][0]["PhoneNumber"] == str(n - 1)
        costs.append(data_statements(seen))
    assert costs[0] == costs[1] == 2, costs


async def test_an_unknown_extension_fails_its_own_field_only(client):
    await define(client, PHONE)
    cid = await create(client, {"FirstName": "Ann", "Phone": [{"PhoneNumber": "5"}]})
    other = await create(client, {"FirstName": "Bob"})
    body = await gql(client, 'query($c: [String!]!) { profiles(customerIds: $c) { customerId '
                             'x: extensions(names: ["Phone"]) y: extensions(names: ["Nope"]) } }',
                     {"c": [cid, other]})
    rows = body["data"]["profiles"]
    assert [[p["PhoneNumber"] for p in r["x"]["Phone"]] for r in rows] == [["5"], []]
    assert [r["y"] for r in rows] == [None, None]
    assert sorted(e["path"] for e in body["errors"]) == [["profiles", 0, "y"], ["profiles", 1, "y"]]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"NOT_FOUND"}
