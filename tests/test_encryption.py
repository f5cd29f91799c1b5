"""Field-level encryption: no plaintext at rest, identification through keyed hashes, key checks at start."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select, update

from tests.helpers import assert_error, gql, set_mode
from tests.profile_fixtures import create, define
from ucs_graphql import cli
from ucs_graphql.config import ConfigError
from ucs_graphql.crypto.cipher import Binding, DecryptError, FieldCipher, parse_key, sealed_format
from ucs_graphql.db.engine import throwaway_engine
from ucs_graphql.db.tables import extensions, profiles, server
from ucs_graphql.extensions.store import unique_keys
from ucs_graphql.kit import jsonio
from ucs_graphql.metadata.model import parse_extension_schema

KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
OTHER_KEY = base64.b64encode(b"fedcba9876543210fedcba9876543210").decode()
CARD = {"name": "Card", "type": "multi-valued", "unique": ["card_no"], "attributes": [
    {"name": "card_no", "type": "string", "encrypt": True},
    {"name": "holder", "type": "string", "encrypt": True},
    {"name": "pin", "type": "integer", "encrypt": "true"},
    {"name": "brand", "type": "string"}]}
SECRETS = ["4970101234567890", "Bruce Wayne", "SSN-078-05-1120", "4242"]


async def raw_dump(url: str) -> str:
    """Every row of the profile-related tables, as text."""
    engine = throwaway_engine(url)
    try:
        async with engine.connect() as conn:
            rows = []
            for table in (profiles.profile, profiles.ident_entry, extensions.extension_record,
                          extensions.extension_unique, server.server_state):
                rows += [repr(tuple(r)) for r in await conn.execute(select(table))]
    finally:
        await engine.dispose()
    return "\n".join(rows)


async def encrypted_setup(client):
    await define(client, CARD, attributes=[{"name": "SSN", "type": "string", "encrypt": True}],
                 keys=[{"name": "idSSN", "attributes": ["SSN"], "unique": True, "normalize": "casefold"},
                       {"name": "idCard", "source": "Card", "attributes": ["card_no"]}])
    return await create(client, {"FirstName": "Bruce", "SSN": "SSN-078-05-1120",
                                 "Card": [{"card_no": "4970101234567890", "holder": "Bruce Wayne", "pin": 4242,
                                           "brand": "visa"}]})


async def test_no_plaintext_at_rest_and_values_read_back(make_client, database_url):
    client = await make_client(encryption_key=KEY)
    cid = await encrypted_setup(client)
    got = (await client.get(f"/profiles/{cid}", params={"extensions": "Card"})).json()
    assert got["SSN"] == "SSN-078-05-1120"
    assert got["Card"] == [{"card_no": "4970101234567890", "holder": "Bruce Wayne", "pin": 4242, "brand": "visa"}]
    dump = await raw_dump(database_url)
    assert "Bruce" in dump and "visa" in dump  # the dump does see plain columns
    for secret in SECRETS:
        assert secret not in dump and secret.lower() not in dump
    assert "enc:r2:" in dump and "enc:d2:" in dump


async def test_identification_and_unique_records_on_encrypted_attributes(make_client, database_url):
    client = await make_client(encryption_key=KEY)
    cid = await encrypted_setup(client)
    assert (await client.get("/profiles", params={"SSN": "ssn-078-05-1120"})).json() == {"customer_id": cid}
    resp = await client.get("/profiles", params={"Card.card_no": "4970101234567890"})
    assert resp.json() == {"customer_id": cid}
    assert_error(await client.post("/profiles", json={"SSN": "SSN-078-05-1120"}), 409, 4090, "idSSN")
    # Unique encrypted attributes still select and replace records.
    await client.post(f"/profiles/{cid}/extensions", json={"Card": [{"card_no": "4970101234567890", "brand": "amex"}]})
    cards = (await client.get(f"/profiles/{cid}", params={"extensions": "Card"})).json()["Card"]
    assert cards == [{"card_no": "4970101234567890", "brand": "amex"}]
    resp = await client.put(f"/profiles/{cid}/extensions/Card/by/unique", json={"card_no": "4970101234567890",
                                                                                "holder": "B. Wayne"})
    assert resp.status_code == 204
    cards = (await client.get(f"/profiles/{cid}", params={"extensions": "Card"})).json()["Card"]
    assert cards[0]["holder"] == "B. Wayne"
    assert "B. Wayne" not in await raw_dump(database_url)
    # Merge re-seals the destination's values.
    other = await create(client, {"SSN": "other-ssn"})
    assert (await client.put(f"/profiles/{cid}/merge/{other}")).status_code == 204
    assert (await client.get(f"/profiles/{cid}")).json()["SSN"] == ["SSN-078-05-1120", "other-ssn"]
    assert "other-ssn" not in await raw_dump(database_url)


async def test_the_server_refuses_to_start_without_the_key(make_client):
    client = await make_client(encryption_key=KEY)
    await encrypted_setup(client)
    with pytest.raises(ConfigError, match="no encryption key"):
        await make_client()
    with pytest.raises(ConfigError, match="not the one"):
        await make_client(encryption_key=OTHER_KEY)
    with pytest.raises(ConfigError, match="32 bytes"):
        await make_client(encryption_key="c2hvcnQ=")


async def test_encrypted_attributes_need_a_key(make_client):
    client = await make_client()
    await set_mode(client, "maintenance")
    assert (await client.post("/metadata/profiles", json={"name": "SSN", "type": "string", "encrypt": True})
            ).status_code == 201
    await set_mode(client, "production")
    assert_error(await client.post("/profiles", json={"SSN": "x"}), 503, 5030, "SSN")
    # Without encrypted data the server starts without a key.
    assert (await client.post("/profiles", json={"FirstName": "x"})).status_code == 201


def test_cipher_round_trip_and_determinism():
    cipher = FieldCipher(parse_key(KEY))
    ssn = Binding(1, "profile", "", "SSN")
    assert cipher.open(cipher.seal("a", ssn), ssn) == "a"
    assert cipher.seal("a", ssn) != cipher.seal("a", ssn)
    assert cipher.seal("a", ssn, deterministic=True) == cipher.seal("a", ssn, deterministic=True)
    assert cipher.digest("a") != FieldCipher(parse_key(OTHER_KEY)).digest("a")


# --- ciphertext bound to its tenant, level, extension, attribute and key -------------------------------------

SSN_T1 = Binding(1, "profile", "", "ssn")


def seal_v1(value: object, *, deterministic: bool = False, key: str = KEY) -> str:
    """A value sealed in the first format (bound to nothing), as servers before the current format wrote it."""
    raw = parse_key(key)

    def derive(label: bytes) -> bytes:
        return hmac.new(raw, label, hashlib.sha256).digest()

    data = jsonio.dumps_str(value).encode()
    if deterministic:
        nonce = hmac.new(derive(b"ucs-graphql deterministic nonce"), data, hashlib.sha256).digest()[:12]
    else:
        nonce = os.urandom(12)
    sealed = AESGCM(derive(b"ucs-graphql field encryption")).encrypt(nonce, data, None)
    return ("enc:d1:" if deterministic else "enc:r1:") + base64.b64encode(nonce + sealed).decode()


@pytest.mark.parametrize("other", [
    Binding(2, "profile", "", "ssn"),           # another tenant
    Binding(1, "profile", "", "FirstName"),     # another attribute
    Binding(1, "profile", "Card", "ssn"),       # an extension's attribute of the same name
    Binding(1, "service", "", "ssn"),           # another level
])
def test_a_sealed_value_opens_only_where_it_was_sealed(other):
    cipher = FieldCipher(parse_key(KEY))
    for deterministic in (False, True):
        sealed = cipher.seal('"078-05-1120"', SSN_T1, deterministic=deterministic)
        assert cipher.open(sealed, SSN_T1) == '"078-05-1120"'
        assert cipher.open(sealed, Binding(1, "profile", "", "SSN")) == '"078-05-1120"'  # names are case-blind
        with pytest.raises(DecryptError, match="fails authentication"):
            cipher.open(sealed, other)
    # Equal values are equal ciphertext only in one place.
    assert cipher.seal("x", SSN_T1, deterministic=True) != cipher.seal("x", other, deterministic=True)


def test_a_sealed_value_names_its_key_version():
    cipher, other = FieldCipher(parse_key(KEY)), FieldCipher(parse_key(OTHER_KEY))
    sealed = cipher.seal("a", SSN_T1)
    assert sealed.startswith(f"enc:r2:{cipher.key_id}:") and cipher.key_id != other.key_id
    with pytest.raises(DecryptError, match="not the configured key"):
        other.open(sealed, SSN_T1)
    # The key id is authenticated: rewriting it does not make the value open under another binding of keys.
    forged = sealed.replace(cipher.key_id, other.key_id, 1)
    with pytest.raises(DecryptError):
        other.open(forged, SSN_T1)
    with pytest.raises(DecryptError):
        cipher.open(forged, SSN_T1)
    # Values of the first format are opened by the upgrade only.
    legacy = seal_v1("a")
    with pytest.raises(DecryptError, match="current encrypted format"):
        cipher.open(legacy, SSN_T1)
    assert cipher.open_legacy(legacy) == '"a"'
    with pytest.raises(DecryptError):
        other.open_legacy(legacy)
    assert sealed_format("enc:d2:x") == 2 and sealed_format("enc:r1:x") == 1 and sealed_format("enc") is None


async def _stored(url: str, tenant: int, cid: str) -> dict:
    engine = throwaway_engine(url)
    try:
        async with engine.connect() as conn:
            text = await conn.scalar(select(profiles.profile.c.data).where(
                profiles.profile.c.tenant_id == tenant, profiles.profile.c.customer_id == cid))
    finally:
        await engine.dispose()
    return jsonio.loads(text)


async def _store(url: str, tenant: int, cid: str, data: dict) -> None:
    engine = throwaway_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(profiles.profile).where(
                profiles.profile.c.tenant_id == tenant, profiles.profile.c.customer_id == cid)
                .values(data=jsonio.dumps_str(data)))
    finally:
        await engine.dispose()


async def _two_tenants(client):
    """SSN (encrypted) and Secret (encrypted) in tenants 1 and 2; tenant 2's customer has an SSN."""
    for tenant in ("2", "1"):
        client.headers["X-Genesys-TenantId"] = tenant
        await define(client, attributes=[{"name": "SSN", "type": "string", "encrypt": True},
                                         {"name": "Secret", "type": "string", "encrypt": True}])
    client.headers["X-Genesys-TenantId"] = "2"
    victim = await create(client, {"FirstName": "Victim", "SSN": "078-05-1120"})
    client.headers["X-Genesys-TenantId"] = "1"
    return victim


async def test_ciphertext_written_into_a_plain_attribute_is_never_decrypted(make_client, database_url):
    client = await make_client(encryption_key=KEY)
    victim = await _two_tenants(client)
    stolen = (await _stored(database_url, 2, victim))["SSN"][0]
    assert stolen.startswith("enc:r2:")
    legacy = seal_v1("078-05-1120")  # the first format, bound to nothing
    # Tenant 1 writes tenant 2's ciphertext into a plain attribute, and into an encrypted one: both are text.
    cid = await create(client, {"FirstName": stolen, "LastName": legacy, "SSN": stolen, "Secret": legacy})
    got = (await client.get(f"/profiles/{cid}")).json()
    assert got == {"customer_id": cid, "FirstName": stolen, "LastName": legacy, "SSN": stolen, "Secret": legacy}
    body = await gql(client, "query($id: String!) { profile(customerId: $id) { attributes } }", {"id": cid})
    assert body["data"]["profile"]["attributes"] == {k: v for k, v in got.items() if k != "customer_id"}
    assert "078-05-1120" not in str(got)
    # Written past the API into tenant 1's encrypted attribute, or into another attribute of tenant 2, the
    # ciphertext fails authentication: an error for that value, never the plaintext.
    await _store(database_url, 1, cid, {"FirstName": ["x"], "SSN": [stolen]})
    resp = await client.get(f"/profiles/{cid}")
    assert_error(resp, 500, 5001, "'SSN'")
    assert "078-05-1120" not in resp.text
    await _store(database_url, 2, victim, {"FirstName": ["Victim"], "Secret": [stolen]})
    client.headers["X-Genesys-TenantId"] = "2"
    assert_error(await client.get(f"/profiles/{victim}"), 500, 5001, "'Secret'")


POISON = ["enc:d1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "enc:r1:AAAA", "enc:r2:00000000:AAAA", "enc:d2:", "enc:"]


@pytest.mark.parametrize("key", [KEY, None])
async def test_text_that_looks_like_ciphertext_round_trips_and_breaks_nothing(make_client, key):
    client = await make_client(**({"encryption_key": key} if key else {}))
    victim = await create(client, {"LastName": "Plain"})
    other = await create(client, {"LastName": "Other"})
    resp = await client.put(f"/profiles/{victim}", json={"LastName": POISON[0], "EmailAddress": POISON[1:]})
    assert resp.status_code == 200, resp.text
    got = (await client.get(f"/profiles/{victim}")).json()
    assert got == {"customer_id": victim, "LastName": POISON[0], "EmailAddress": POISON[1:]}
    body = await gql(client, "query($ids: [String!]!) { profiles(customerIds: $ids) { customerId attributes } }",
                     {"ids": [victim, other]})
    assert "errors" not in body, body
    assert [p["attributes"]["LastName"] for p in body["data"]["profiles"]] == [POISON[0], "Other"]
    await set_mode(client, "maintenance")
    resp = await client.post("/metadata/identification-keys", json={"name": "idLast", "attributes": ["LastName"]})
    assert resp.status_code == 201, resp.text
    await set_mode(client, "production")
    assert (await client.get("/profiles", params={"LastName": POISON[0]})).json() == {"customer_id": victim}
    assert (await client.put(f"/profiles/{other}/merge/{victim}")).status_code == 204
    assert (await client.get(f"/profiles/{other}")).json()["LastName"] == ["Other", POISON[0]]


async def test_an_unreadable_stored_value_fails_only_its_own_reads(make_client, database_url):
    client = await make_client(encryption_key=KEY)
    await define(client, CARD, attributes=[{"name": "SSN", "type": "string", "encrypt": True}])
    card = {"card_no": "4970101234567890", "holder": "Bruce Wayne", "brand": "visa"}
    bad = await create(client, {"FirstName": "Bad", "SSN": "111", "Card": [card]})
    good = await create(client, {"FirstName": "Good", "SSN": "222", "Card": [{**card, "card_no": "1"}]})
    stored = await _stored(database_url, 1, bad)
    sealed = stored["SSN"][0]
    damaged = sealed[:-6] + ("AAAAAA" if not sealed.endswith("AAAAAA") else "BBBBBB")
    await _store(database_url, 1, bad, {**stored, "SSN": [damaged]})
    engine = throwaway_engine(database_url)
    try:
        async with engine.begin() as conn:
            rec = extensions.extension_record
            where = (rec.c.tenant_id == 1, rec.c.owner == bad, rec.c.ext == "card")
            data = jsonio.loads(await conn.scalar(select(rec.c.data).where(*where)))
            # Another customer's valid ciphertext of the same attribute reads fine (owners are not bound);
            # the ciphertext of another attribute does not.
            await conn.execute(update(rec).where(*where).values(data=jsonio.dumps_str(
                {**data, "holder": data["card_no"]})))
    finally:
        await engine.dispose()

    # REST: that profile's read is the documented error naming the attribute; every other read works.
    assert_error(await client.get(f"/profiles/{bad}"), 500, 5001, "'SSN'")
    assert (await client.get(f"/profiles/{good}")).json()["SSN"] == "222"
    assert (await client.get(f"/profiles/{good}", params={"extensions": "Card"})).status_code == 200
    # GraphQL: a batch answers every other profile; the unreadable field is an error with its own code.
    body = await gql(client, "query($ids: [String!]!) { profiles(customerIds: $ids) { customerId attributes } }",
                     {"ids": [bad, good]})
    assert body["data"]["profiles"][0] is None and body["data"]["profiles"][1]["attributes"]["SSN"] == "222"
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["profiles", 0, "attributes"], "UNREADABLE_VALUE")]
    body = await gql(client, "query($ids: [String!]!) { profiles(customerIds: $ids) { customerId "
                             "extensions(names: [\"Card\"]) } }", {"ids": [bad, good]})
    assert body["data"]["profiles"][0] == {"customerId": bad, "extensions": None}
    assert body["data"]["profiles"][1]["extensions"]["Card"][0]["holder"] == "Bruce Wayne"
    assert "Card.holder" in body["errors"][0]["message"]
    # Creating identification keys indexes everything else.
    await set_mode(client, "maintenance")
    for key in ({"name": "idSSN", "attributes": ["SSN"]}, {"name": "idHolder", "source": "Card",
                                                            "attributes": ["holder"]}):
        resp = await client.post("/metadata/identification-keys", json=key)
        assert resp.status_code == 201, resp.text
    await set_mode(client, "production")
    assert (await client.get("/profiles", params={"SSN": "222"})).json() == {"customer_id": good}
    assert (await client.get("/profiles", params={"SSN": "111"})).json() == []
    # A merge moves the unreadable value as it is stored; updating the profile replaces it.
    third = await create(client, {"SSN": "333"})
    assert (await client.put(f"/profiles/{third}/merge/{bad}")).status_code == 204
    assert (await _stored(database_url, 1, third))["SSN"][1] == damaged
    assert_error(await client.get(f"/profiles/{third}"), 500, 5001, f"customer '{third}'")
    assert (await client.put(f"/profiles/{third}", json={"SSN": "333"})).status_code == 200
    assert (await client.get(f"/profiles/{third}")).json()["SSN"] == "333"


# --- upgrading ciphertext of the first format ----------------------------------------------------------------

async def _write_first_format(url: str, cid: str) -> str:
    """Rewrite a customer's encrypted values as a server of the first format stored them (unique rows included),
    plant first-format text in a plain attribute, and forget that the database was upgraded. Returns the
    planted text."""
    schema = parse_extension_schema(CARD, "profile")
    planted = seal_v1("SSN-078-05-1120")
    engine = throwaway_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(profiles.profile).where(profiles.profile.c.customer_id == cid).values(
                data=jsonio.dumps_str({"FirstName": [planted], "SSN": [seal_v1("SSN-078-05-1120")]})))
            rec, uni = extensions.extension_record, extensions.extension_unique
            old = {"card_no": seal_v1("4970101234567890", deterministic=True), "holder": seal_v1("Bruce Wayne"),
                   "pin": seal_v1(4242), "brand": "visa"}
            await conn.execute(update(rec).where(rec.c.owner == cid).values(data=jsonio.dumps_str(old)))
            await conn.execute(update(uni).where(uni.c.owner == cid).values(value=unique_keys(schema, old)[0][1]))
            await conn.execute(delete(server.server_state).where(server.server_state.c.name == "encryption_format"))
    finally:
        await engine.dispose()
    return planted


async def _assert_upgraded(client, database_url, cid, planted):
    got = (await client.get(f"/profiles/{cid}", params={"extensions": "Card"})).json()
    assert got == {"customer_id": cid, "FirstName": planted, "SSN": "SSN-078-05-1120",
                   "Card": [{"card_no": "4970101234567890", "holder": "Bruce Wayne", "pin": 4242, "brand": "visa"}]}
    dump = await raw_dump(database_url)
    assert dump.count("enc:r1:") == 1 and "enc:d1:" not in dump  # only the plain attribute's text
    assert "('encryption_format', '2')" in dump
    # Unique rows follow the new ciphertext: the same card number still selects and replaces its record.
    await client.post(f"/profiles/{cid}/extensions", json={"Card": [{"card_no": "4970101234567890", "brand": "amex"}]})
    cards = (await client.get(f"/profiles/{cid}", params={"extensions": "Card"})).json()["Card"]
    assert cards == [{"card_no": "4970101234567890", "brand": "amex"}]
    assert (await client.get("/profiles", params={"SSN": "ssn-078-05-1120"})).json() == {"customer_id": cid}


async def test_the_server_upgrades_first_format_ciphertext_at_start(make_client, database_url, caplog):
    client = await make_client(encryption_key=KEY)
    cid = await encrypted_setup(client)
    planted = await _write_first_format(database_url, cid)
    # Before the upgrade a first-format value is never opened by a read (only the upgrade opens it).
    assert_error(await client.get(f"/profiles/{cid}"), 500, 5001, "'SSN'")
    assert "attribute SSN cannot be decrypted: the value is in the first encrypted format" in caplog.text
    assert "SSN-078" not in caplog.text
    upgraded = await make_client(encryption_key=KEY)
    await _assert_upgraded(upgraded, database_url, cid, planted)
    # The next start finds the database current and changes nothing.
    before = await raw_dump(database_url)
    await make_client(encryption_key=KEY)
    assert await raw_dump(database_url) == before


async def test_reencrypt_command(make_client, database_url, monkeypatch, capsys):
    client = await make_client(encryption_key=KEY)
    cid = await encrypted_setup(client)
    planted = await _write_first_format(database_url, cid)
    monkeypatch.delenv("UCS_ENCRYPTION_KEY", raising=False)
    assert await asyncio.to_thread(cli.main, ["reencrypt", "--database", database_url]) == 2
    assert "no encryption key is configured" in capsys.readouterr().err
    monkeypatch.setenv("UCS_ENCRYPTION_KEY", KEY)
    assert await asyncio.to_thread(cli.main, ["reencrypt", "--database", database_url]) == 0
    assert "4 encrypted values sealed again in 2 rows; 0 cannot be decrypted" in capsys.readouterr().out
    await _assert_upgraded(client, database_url, cid, planted)
    # A first-format value that does not decrypt is left as it is, reported, and read as unreadable.
    stored = await _stored(database_url, 1, cid)
    await _store(database_url, 1, cid, {**stored, "SSN": [seal_v1("x", key=OTHER_KEY)]})
    assert await asyncio.to_thread(cli.main, ["reencrypt", "--database", database_url]) == 1
    assert "0 encrypted values sealed again in 0 rows; 1 cannot be decrypted" in capsys.readouterr().out
    assert_error(await client.get(f"/profiles/{cid}"), 500, 5001, "'SSN'")


@pytest.mark.parametrize("level", ["services", "states", "tasks"])
async def test_encryption_is_refused_where_values_would_be_stored_in_clear(make_client, level):
    client = await make_client(encryption_key=KEY)
    schema = {"name": "Feedback", "type": "single-valued",
              "attributes": [{"name": "note", "type": "string", "encrypt": True}]}
    assert_error(await client.post(f"/metadata/{level}/extensions", json=schema), 400, 4020, "note.encrypt")
    body = await gql(client, "mutation($s: JSON!) { createExtensionSchemas(level: SERVICE, schemas: $s) }",
                     {"s": schema})
    assert body["errors"][0]["extensions"]["code"] == "BAD_PARAMETER" and "note.encrypt" in body["errors"][0]["message"]
    assert (await client.get(f"/metadata/{level}/extensions")).json() == []
