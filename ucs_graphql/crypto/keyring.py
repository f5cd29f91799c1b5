"""The process's field cipher: built from the configured key at start, refused when it cannot read the data.

The first write of encrypted data records the key's fingerprint in `server_state`; a server started later
without a key, or with another key, refuses to start rather than serve data it cannot read. Ciphertext of the
first format is upgraded at start, before serving (ucs_graphql.crypto.reencrypt).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.config import ConfigError, Settings
from ucs_graphql.crypto import reencrypt
from ucs_graphql.crypto.cipher import FieldCipher, parse_key
from ucs_graphql.db.engine import Database
from ucs_graphql.db.tables.server import server_state
from ucs_graphql.db.upsert import insert_for
from ucs_graphql.kit.errors import Unavailable
from ucs_graphql.runtime import Runtime

PART = "cipher"
FINGERPRINT_ROW = "encryption_key_fingerprint"


async def _checked(db: Database, settings: Settings) -> tuple[FieldCipher | None, bool, bool]:
    """The cipher of the settings checked against the stored fingerprint (ConfigError), whether encrypted data
    was ever written, and whether the stored ciphertext is known to be of the current format."""
    async with db.read() as conn:
        stored = await conn.scalar(select(server_state.c.value).where(server_state.c.name == FINGERPRINT_ROW))
        current = await reencrypt.is_current(conn)
    key_text = settings.encryption_key
    cipher = FieldCipher(parse_key(key_text)) if key_text else None
    if stored is not None and cipher is None:
        raise ConfigError("the database holds encrypted attributes and no encryption key is configured: "
                          "set encryption_key in the configuration file or UCS_ENCRYPTION_KEY")
    if stored is not None and cipher is not None and cipher.fingerprint != stored:
        raise ConfigError("the configured encryption key is not the one the database's encrypted attributes "
                          "were written with")
    return cipher, stored is not None, current


async def open_keyring(db: Database, settings: Settings) -> FieldCipher | None:
    """The checked cipher of the settings (None without a key); stored ciphertext of the first format is
    upgraded first (crypto.reencrypt), once."""
    cipher, used, current = await _checked(db, settings)
    if not current:
        if used and cipher is not None:
            await reencrypt.reencrypt(db, settings, cipher)
        else:  # nothing was ever encrypted: whatever is written from now on is of the current format

            async def mark(conn: AsyncConnection) -> None:
                await reencrypt.mark_current(conn)

            await db.write(mark)
    return cipher


async def reencrypt_database(settings: Settings) -> reencrypt.Outcome:
    """`ucs-graphql reencrypt`: upgrade every stored value of the first format now, whatever server_state says."""
    db = Database(settings.database_url, pool_size=2, timeout=settings.db_timeout_seconds,
                  statement_timeout=settings.db_statement_timeout_seconds or None)
    try:
        cipher, _, _ = await _checked(db, settings)
        if cipher is None:
            raise ConfigError("reencrypt needs the encryption key: set encryption_key in the configuration file "
                              "or UCS_ENCRYPTION_KEY")
        return await reencrypt.reencrypt(db, settings, cipher)
    finally:
        await db.dispose()


async def start(rt: Runtime) -> None:
    """Build the cipher from the settings and check it against the stored fingerprint (ConfigError)."""
    rt.parts[PART] = await open_keyring(rt.db, rt.settings)


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
