"""The process's field cipher: built from the configured key at start, refused when it cannot read the data.

The first write of encrypted data records the key's fingerprint in `server_state`; a server started later
without a key, or with another key, refuses to start rather than serve data it cannot read.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.config import ConfigError
from ucs_graphql.crypto.cipher import FieldCipher, parse_key
from ucs_graphql.db.tables.server import server_state
from ucs_graphql.db.upsert import insert_for
from ucs_graphql.kit.errors import Unavailable
from ucs_graphql.runtime import Runtime

PART = "cipher"
FINGERPRINT_ROW = "encryption_key_fingerprint"


async def start(rt: Runtime) -> None:
    """Build the cipher from the settings and check it against the stored fingerprint (ConfigError)."""
    async with rt.db.read() as conn:
        stored = await conn.scalar(select(server_state.c.value).where(server_state.c.name == FINGERPRINT_ROW))
    key_text = rt.settings.encryption_key
    cipher = FieldCipher(parse_key(key_text)) if key_text else None
    if stored is not None and cipher is None:
        raise ConfigError("the database holds encrypted attributes and no encryption key is configured: "
                          "set encryption_key in the configuration file or UCS_ENCRYPTION_KEY")
    if stored is not None and cipher is not None and cipher.fingerprint != stored:
        raise ConfigError("the configured encryption key is not the one the database's encrypted attributes "
                          "were written with")
    rt.parts[PART] = cipher


def cipher_of(rt: Runtime) -> FieldCipher | None:
    """The process's cipher (None when no key is configured)."""
    cipher = rt.parts.get(PART)
    if cipher is None and PART not in rt.parts and rt.settings.encryption_key:
        cipher = rt.parts[PART] = FieldCipher(parse_key(rt.settings.encryption_key))
    return cipher


def require_cipher(rt: Runtime, what: str) -> FieldCipher:
    """The cipher, or Unavailable (503) naming the encrypted attribute when no key is configured."""
    cipher = cipher_of(rt)
    if cipher is None:
        raise Unavailable(f"'{what}' is an encrypted attribute and the server has no encryption key "
                          "(set encryption_key or UCS_ENCRYPTION_KEY)")
    return cipher


async def record_use(conn: AsyncConnection, cipher: FieldCipher) -> None:
    """Record, in the writing transaction, that data encrypted with this key exists."""
    stmt = insert_for(conn, server_state).values(name=FINGERPRINT_ROW, value=cipher.fingerprint)
    await conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
