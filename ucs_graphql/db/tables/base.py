"""The shared MetaData, with a naming convention so constraint names are stable on both engines."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# A 64-bit integer that is SQLite's INTEGER (so AUTOINCREMENT works there) and BIGINT elsewhere.
Id64 = BigInteger().with_variant(Integer(), "sqlite")
