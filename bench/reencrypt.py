"""How long the upgrade of first-format ciphertext takes (`ucs-graphql reencrypt`, or a server's start).

Writes N profiles whose encrypted `SSN` holds a value of the first format (enc:r1:, as servers before the
current format stored it) and whose plain `FirstName` holds first-format text a client wrote, straight into
a fresh database; then times the upgrade and prints values per second. A second run shows what a start
costs once the database is current.

    python -m bench.reencrypt --database sqlite:///./var/bench-reencrypt.db --profiles 20000
    python -m bench.reencrypt --database postgresql://postgres@127.0.0.1:5432/bench --profiles 20000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, insert

from ucs_graphql.config import load_settings
from ucs_graphql.crypto.cipher import FieldCipher, parse_key
from ucs_graphql.crypto.keyring import FINGERPRINT_ROW, open_keyring
from ucs_graphql.db.engine import Database, throwaway_engine
from ucs_graphql.db.migrate import upgrade
from ucs_graphql.db.tables.metadata_schemas import profile_attribute
from ucs_graphql.db.tables.profiles import profile
from ucs_graphql.db.tables.server import server_state
from ucs_graphql.kit import jsonio

KEY = base64.b64encode(b"bench-reencrypt-key-32-bytes-!!!").decode()


def seal_v1(aead: AESGCM, text: str) -> str:
    nonce = os.urandom(12)
    return "enc:r1:" + base64.b64encode(nonce + aead.encrypt(nonce, jsonio.dumps_str(text).encode(), None)).decode()


async def load(url: str, count: int) -> None:
    raw = parse_key(KEY)
    aead = AESGCM(hmac.new(raw, b"ucs-graphql field encryption", hashlib.sha256).digest())
    engine = throwaway_engine(url)
    try:
        async with engine.begin() as conn:
            for table in (profile, profile_attribute, server_state):
                await conn.execute(delete(table))
            await conn.execute(insert(profile_attribute).values(tenant_id=1, name_lc="ssn", seq=1, doc=jsonio.dumps_str(
                {"name": "SSN", "type": "string", "length": 64, "mandatory": False, "encrypt": True})))
            await conn.execute(insert(server_state).values(name=FINGERPRINT_ROW,
                                                           value=FieldCipher(raw).fingerprint))
            for start in range(0, count, 5000):
                rows = [{"tenant_id": 1, "customer_id": f"C{i:09d}", "created_ms": 0, "data": jsonio.dumps_str(
                    {"FirstName": [seal_v1(aead, "not a secret")], "SSN": [seal_v1(aead, f"SSN-{i:09d}")]})}
                    for i in range(start, min(start + 5000, count))]
                await conn.execute(insert(profile), rows)
    finally:
        await engine.dispose()


async def timed(url: str) -> float:
    settings = load_settings({"database_url": url, "encryption_key": KEY}, environ={})
    db = Database(url)
    try:
        began = time.perf_counter()
        await open_keyring(db, settings)
        return time.perf_counter() - began
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True)
    parser.add_argument("--profiles", type=int, default=20000)
    args = parser.parse_args()
    asyncio.run(upgrade(args.database))
    asyncio.run(load(args.database, args.profiles))
    first = asyncio.run(timed(args.database))
    again = asyncio.run(timed(args.database))
    print(f"{args.profiles} first-format values sealed again at start in {first:.2f} s "
          f"({args.profiles / first:,.0f} values/s); the next start checks in {again * 1000:.1f} ms")


if __name__ == "__main__":
    main()
