"""Encryption at the storage boundary of one profile write: seal what goes in, remember to record it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.context import Ctx
from ucs_graphql.crypto import keyring
from ucs_graphql.crypto.cipher import FieldCipher
from ucs_graphql.crypto.fields import encrypted, seal_profile, seal_record
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import ExtensionSchema
from ucs_graphql.profiles.model import Data, Record


class Sealer:
    """Seals plain values of one write; `commit` records the key's use inside the transaction."""

    def __init__(self, ctx: Ctx, schemas: TenantSchemas) -> None:
        self.ctx = ctx
        self.schemas = schemas
        self.cipher: FieldCipher | None = keyring.cipher_of(ctx.rt)
        self.used = False
        self._secret = encrypted(schemas.profile_attributes)

    def _require(self, what: str) -> FieldCipher:
        self.used = True
        return keyring.require_cipher(self.ctx.rt, what)

    def profile(self, data: Data) -> Data:
        """Stored form of plain attribute values."""
        if not self._secret:
            return data
        secret = [n for n in data if (a := self.schemas.profile_attribute(n)) is not None and a.encrypt]
        if not secret:
            return data
        return seal_profile(self.schemas.profile_attributes, self._require(secret[0]), self.ctx.tenant, data)

    def records(self, schema: ExtensionSchema, records: list[Record]) -> list[Record]:
        """Stored form of plain extension records."""
        if not records or not encrypted(schema):
            return records
        cipher = self._require(schema.name)
        return [seal_record(schema, cipher, self.ctx.tenant, r) for r in records]

    async def commit(self, conn: AsyncConnection) -> None:
        """Record in the transaction that encrypted data exists (when this write sealed anything)."""
        if self.used and self.cipher is not None:
            await keyring.record_use(conn, self.cipher)
