"""Field-level encryption: no plaintext at rest, identification through keyed hashes, key checks at start."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from tests.helpers import assert_error, set_mode
from tests.profile_fixtures import create, define
from ucs_graphql.config import ConfigError
from ucs_graphql.crypto.cipher import FieldCipher, parse_key
from ucs_graphql.db.engine import throwaway_engine
from ucs_graphql.db.tables import extensions, profiles, server

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
    assert "enc:r1:" in dump and "enc:d1:" in dump


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
    assert cipher.open(cipher.seal("a")) == "a"
    assert cipher.seal("a") != cipher.seal("a")
    assert cipher.seal("a", deterministic=True) == cipher.seal("a", deterministic=True)
    assert cipher.digest("a") != FieldCipher(parse_key(OTHER_KEY)).digest("a")
