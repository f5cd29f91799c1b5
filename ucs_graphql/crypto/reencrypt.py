"""The upgrade of stored ciphertext of the first format (`enc:r1:`/`enc:d1:`, bound to nothing) to the current
one, bound to its tenant, level, extension and attribute (ucs_graphql.crypto.cipher).

The key lives in the settings, not in the database, so an Alembic migration cannot do it: the server does it
at start, before it serves (`keyring.start`), and `ucs-graphql reencrypt` does it alone. Only values of
attributes the schema marks encrypted are converted; a value of the first format anywhere else is plain text a
client stored and stays as it is. A value that cannot be decrypted is left as it is, counted and logged
(never its content); reads then report it as unreadable. Each page of rows is converted in one write
transaction that reads the rows again under lock, so two processes upgrading at once convert each value once.
When the whole database is done, `server_state` records it and later starts skip the scan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.config import Settings
from ucs_graphql.crypto.cipher import Binding, DecryptError, FieldCipher, sealed_format
from ucs_graphql.crypto.fields import profile_binding, record_binding
from ucs_graphql.db.engine import Database
from ucs_graphql.db.tables.extensions import extension_record, extension_unique
from ucs_graphql.db.tables.profiles import profile
from ucs_graphql.db.tables.server import server_state
from ucs_graphql.db.upsert import upsert
from ucs_graphql.extensions.store import unique_keys
from ucs_graphql.kit import jsonio
from ucs_graphql.metadata.cache import TenantSchemas, build_tenant
from ucs_graphql.metadata.model import ExtensionSchema
from ucs_graphql.metadata.store import load_documents

FORMAT_ROW = "encryption_format"
CURRENT = "2"
PAGE = 500
LEVEL = "profile"
log = logging.getLogger("ucs.crypto")


@dataclass
class Outcome:
    """What an upgrade did: values sealed again, values left as they were (cannot be decrypted), rows rewritten."""

    converted: int = 0
    unreadable: int = 0
    rows: int = 0

    def add(self, other: Outcome) -> None:
        self.converted += other.converted
        self.unreadable += other.unreadable
        self.rows += other.rows


def _legacy_text(column: Any) -> Any:
    """Rows whose JSON text may hold a value of the first format (a string starting with enc:r1: or enc:d1:)."""
    return or_(column.like('%"enc:r1:%'), column.like('%"enc:d1:%'))


async def is_current(conn: AsyncConnection) -> bool:
    """Whether the stored ciphertext is known to be of the current format."""
    got = await conn.scalar(select(server_state.c.value).where(server_state.c.name == FORMAT_ROW))
    return got == CURRENT


async def mark_current(conn: AsyncConnection) -> None:
    """Record that every stored ciphertext is of the current format."""
    await upsert(conn, server_state, {"name": FORMAT_ROW, "value": CURRENT}, ["name"], ["value"])


class _Converter:
    """Converts the values of one tenant's rows; `outcome` counts those of the page being written (a write
    retried on contention starts its page again with `fresh`)."""

    def __init__(self, cipher: FieldCipher, tenant: int) -> None:
        self.cipher = cipher
        self.tenant = tenant
        self.outcome = Outcome()

    def fresh(self) -> None:
        self.outcome = Outcome()

    def value(self, value: Any, seal: Callable[[str], str], owner: str, name: str) -> Any:
        """The value sealed again when it is of the first format (unchanged when it cannot be decrypted)."""
        if sealed_format(value) != 1:
            return value
        try:
            plain = self.cipher.open_legacy(value)
        except DecryptError as err:
            self.outcome.unreadable += 1
            log.error("tenant %d customer %r: the stored value of encrypted attribute %s cannot be decrypted and "
                      "was left as it is: %s", self.tenant, owner, name, err)
            return value
        self.outcome.converted += 1
        return seal(plain)

    def profile_data(self, schemas: TenantSchemas, owner: str, data: dict[str, list[Any]]) -> dict[str, list[Any]]:
        out = {}
        for name, values in data.items():
            attr = schemas.profile_attribute(name)
            if attr is None or not attr.encrypt:
                out[name] = values
                continue
            seal = self._sealer(profile_binding(self.tenant, attr), False)
            out[name] = [self.value(v, seal, owner, name) for v in values]
        return out

    def record(self, schema: ExtensionSchema, owner: str, rec: dict[str, Any]) -> dict[str, Any]:
        unique = {n.lower() for n in schema.unique_attributes}
        out = dict(rec)
        for attr in schema.attributes:
            if attr.encrypt and attr.name in out:
                seal = self._sealer(record_binding(self.tenant, schema, attr), attr.key in unique)
                out[attr.name] = self.value(out[attr.name], seal, owner, f"{schema.name}.{attr.name}")
        return out

    def _sealer(self, binding: Binding, deterministic: bool) -> Callable[[str], str]:
        return lambda plain: self.cipher.seal(plain, binding, deterministic=deterministic)


async def _tenants(conn: AsyncConnection) -> list[int]:
    found: set[int] = set()
    for table, extra in ((profile, []), (extension_record, [extension_record.c.level == LEVEL])):
        stmt = select(table.c.tenant_id).where(_legacy_text(table.c.data), *extra).distinct()
        found |= set((await conn.scalars(stmt)).all())
    return sorted(found)


async def _profiles(db: Database, conv: _Converter, schemas: TenantSchemas, total: Outcome) -> None:
    last = ""
    while True:
        async def work(conn: AsyncConnection, after: str = last) -> str | None:
            conv.fresh()
            rows = (await conn.execute(
                select(profile.c.customer_id, profile.c.data)
                .where(profile.c.tenant_id == conv.tenant, profile.c.customer_id > after,
                       _legacy_text(profile.c.data))
                .order_by(profile.c.customer_id).limit(PAGE).with_for_update())).all()
            changed = []
            for cid, text in rows:
                data = jsonio.loads(text)
                new = conv.profile_data(schemas, cid, data)
                if new != data:
                    changed.append({"cid": cid, "new": jsonio.dumps_str(new)})
            if changed:  # one executemany per page
                await conn.execute(update(profile).where(profile.c.tenant_id == conv.tenant,
                                                         profile.c.customer_id == bindparam("cid"))
                                   .values(data=bindparam("new")), changed)
                conv.outcome.rows += len(changed)
            return rows[-1][0] if len(rows) == PAGE else None

        got = await db.write(work)
        total.add(conv.outcome)
        if got is None:
            return
        last = got


async def _records(db: Database, conv: _Converter, schemas: Sequence[ExtensionSchema], total: Outcome) -> None:
    by_key = {s.key: s for s in schemas}
    r = extension_record
    last: tuple[str, str, int] = ("", "", 0)
    while True:
        async def work(conn: AsyncConnection, after: tuple[str, str, int] = last) -> tuple[str, str, int] | None:
            conv.fresh()
            rows = (await conn.execute(
                select(r.c.owner, r.c.ext, r.c.rec_no, r.c.data)
                .where(r.c.tenant_id == conv.tenant, r.c.level == LEVEL, r.c.ext.in_(list(by_key)),
                       tuple_(r.c.owner, r.c.ext, r.c.rec_no) > tuple_(*after), _legacy_text(r.c.data))
                .order_by(r.c.owner, r.c.ext, r.c.rec_no).limit(PAGE).with_for_update())).all()
            changed: list[dict[str, Any]] = []
            uniques: list[dict[str, Any]] = []
            for owner, ext, rec_no, text in rows:
                schema = by_key[ext]
                rec = jsonio.loads(text)
                new = conv.record(schema, owner, rec)
                if new == rec:
                    continue
                changed.append({"o": owner, "e": ext, "n": rec_no, "new": jsonio.dumps_str(new), "multi": schema.multi})
                if schema.multi:  # its unique rows hold a hash of the stored values
                    uniques += [{"tenant_id": conv.tenant, "level": LEVEL, "owner": owner, "ext": ext, "grp": grp,
                                 "value": value, "rec_no": rec_no} for grp, value in unique_keys(schema, new)]
            if changed:  # a few executemany per page
                await _rewrite(conn, conv.tenant, changed, uniques)
                conv.outcome.rows += len(changed)
            return tuple(rows[-1][:3]) if len(rows) == PAGE else None

        got = await db.write(work)
        total.add(conv.outcome)
        if got is None:
            return
        last = got


async def _rewrite(conn: AsyncConnection, tenant: int, changed: list[dict[str, Any]],
                   uniques: list[dict[str, Any]]) -> None:
    """Store records sealed again, and replace the unique rows of the multi-valued ones."""
    r, u = extension_record, extension_unique
    await conn.execute(update(r).where(r.c.tenant_id == tenant, r.c.level == LEVEL, r.c.owner == bindparam("o"),
                                       r.c.ext == bindparam("e"), r.c.rec_no == bindparam("n"))
                       .values(data=bindparam("new")), [{k: c[k] for k in ("o", "e", "n", "new")} for c in changed])
    multi = [{"o": c["o"], "e": c["e"], "n": c["n"]} for c in changed if c["multi"]]
    if multi:
        await conn.execute(delete(u).where(u.c.tenant_id == tenant, u.c.level == LEVEL, u.c.owner == bindparam("o"),
                                           u.c.ext == bindparam("e"), u.c.rec_no == bindparam("n")), multi)
    if uniques:
        await conn.execute(insert(u), uniques)


async def reencrypt(db: Database, settings: Settings, cipher: FieldCipher) -> Outcome:
    """Seal again, in the current format, every value of the first format of an encrypted attribute; then
    record that the database is current."""
    outcome = Outcome()
    async with db.read() as conn:
        tenants = await _tenants(conn)
    for tenant in tenants:
        async with db.read() as conn:
            schemas = build_tenant(settings, await load_documents(conn, tenant))
        conv = _Converter(cipher, tenant)
        if any(a.encrypt for a in schemas.profile_attributes.values()):
            await _profiles(db, conv, schemas, outcome)
        secret = [s for s in schemas.extensions[LEVEL].values() if any(a.encrypt for a in s.attributes)]
        if secret:
            await _records(db, conv, secret, outcome)

    async def done(conn: AsyncConnection) -> None:
        await mark_current(conn)

    await db.write(done)
    log.info("encrypted values upgraded to format %s: %d values in %d rows sealed again, %d cannot be decrypted",
             CURRENT, outcome.converted, outcome.rows, outcome.unreadable)
    return outcome
