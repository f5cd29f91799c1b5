"""Reads of a few rows by key (a profile by id, identification, a customer's active services): on SQLite they run
on the event loop's thread, see every write committed before them at once, and go the ordinary way when the
database would not let them read at once."""

from __future__ import annotations

import logging
import re
import sqlite3
from typing import Any

import pytest
from sqlalchemy import text

from tests.helpers import gql
from tests.journeys import start_service
from tests.profile_fixtures import PHONE, create, define

ID_PHONE = {"name": "idPhone", "source": "Phone", "attributes": ["PhoneNumber"], "normalize": "phone"}


def database(client: Any) -> Any:
    return client._transport.app.state.runtime.db


async def identify(client: Any, number: str) -> Any:
    resp = await client.get("/profiles", params={"Phone.PhoneNumber": number})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_each_read_sees_the_write_before_it(client, backend):
    await define(client, PHONE, keys=[ID_PHONE])
    cid = await create(client, {"FirstName": "v0", "Phone": [{"PhoneNumber": "100"}]})
    db = database(client)
    quick = db.quick_reads
    for i in range(1, 16):
        resp = await client.put(f"/profiles/{cid}", json={"FirstName": f"v{i}", "Phone": [{"PhoneNumber": f"{100 + i}"}]})
        assert resp.status_code == 200, resp.text
        assert (await client.get(f"/profiles/{cid}")).json()["FirstName"] == f"v{i}"
        got = await gql(client, "query($id: String!) { profile(customerId: $id) { attributes } }", {"id": cid})
        assert got["data"]["profile"]["attributes"]["FirstName"] == f"v{i}"
        assert await identify(client, f"{100 + i}") == {"customer_id": cid}
        assert await identify(client, f"{99 + i}") == []
    started = []
    for _ in range(3):
        started.append(await start_service(client, customer_id=cid))
        got = (await client.get(f"/customers/{cid}/services/active")).json()
        assert sorted(s["service_id"] for s in got) == started
    assert (await client.post(f"/services/{started[0]}/end", json={})).status_code == 204
    got = (await client.get(f"/customers/{cid}/services/active")).json()
    assert sorted(s["service_id"] for s in got) == started[1:]
    assert (await client.delete(f"/profiles/{cid}")).status_code == 200
    assert (await client.get(f"/profiles/{cid}")).status_code == 404
    if backend == "sqlite":
        assert db.quick_reads - quick == 15 * 4 + 4 + 1
        assert db.quick_fallbacks == 0
    metrics = (await client.get("/metrics")).text
    assert re.search(r"^ucs_db_quick_reads_total (\S+)$", metrics, re.M)
    assert re.search(r"^ucs_db_quick_read_fallbacks_total 0\.0$", metrics, re.M)


async def test_a_read_the_database_would_delay_goes_the_ordinary_way(client, backend):
    if backend != "sqlite":
        pytest.skip("PostgreSQL reads have no quick readers")
    await define(client, PHONE, keys=[ID_PHONE])
    cid = await create(client, {"FirstName": "Ada", "Phone": [{"PhoneNumber": "42"}]})
    db = database(client)
    assert (await client.get(f"/profiles/{cid}")).status_code == 200
    assert db.quick.idle
    raws = [conn.sync_connection.connection.driver_connection._conn for conn in db.quick.idle]

    def refuse_pragmas(action: int, *_: Any) -> int:
        # Stands in for a database that cannot be read at once: the read's first statement fails.
        return sqlite3.SQLITE_DENY if action == sqlite3.SQLITE_PRAGMA else sqlite3.SQLITE_OK

    for raw in raws:
        raw.set_authorizer(refuse_pragmas)
    try:
        fallbacks = db.quick_fallbacks
        assert (await client.get(f"/profiles/{cid}")).json()["FirstName"] == "Ada"
        assert await identify(client, "42") == {"customer_id": cid}
        assert db.quick_fallbacks - fallbacks == 2
        assert not any(raw.in_transaction for raw in raws)
    finally:
        for raw in raws:
            raw.set_authorizer(None)
    quick = db.quick_reads
    assert (await client.get(f"/profiles/{cid}")).status_code == 200
    assert db.quick_reads == quick + 1


async def test_quick_readers_refuse_writes(client, backend):
    if backend != "sqlite":
        pytest.skip("PostgreSQL reads have no quick readers")
    with pytest.raises(Exception) as raised:  # the driver's error, mapped at the storage boundary
        async with database(client).read(quick=True) as conn:
            await conn.execute(text("DELETE FROM server_worker"))
    assert "readonly" in str(raised.value.__cause__)


async def test_a_quick_reader_that_cannot_open_is_warned_once_until_it_opens(client, backend, monkeypatch, caplog):
    if backend != "sqlite":
        pytest.skip("PostgreSQL reads have no quick readers")
    await define(client, PHONE, keys=[ID_PHONE])
    cid = await create(client, {"FirstName": "Ada", "Phone": [{"PhoneNumber": "42"}]})
    db = database(client)
    db.quick.forget_idle()  # every quick connection dropped: the next read must open one

    class Unopenable:  # stands in for the quick readers' engine while the file cannot be opened
        async def connect(self) -> Any:
            raise OSError("unable to open database file")

    monkeypatch.setattr(db.quick, "engine", Unopenable())
    caplog.set_level(logging.WARNING, logger="ucs.db")
    fallbacks = db.quick_fallbacks
    for _ in range(5):
        assert (await client.get(f"/profiles/{cid}")).json()["FirstName"] == "Ada"
        assert await identify(client, "42") == {"customer_id": cid}
    assert db.quick_fallbacks - fallbacks == 10
    warned = [r.getMessage() for r in caplog.records if "quick reader" in r.getMessage()]
    assert warned == ["quick reader unavailable (OSError); going through the driver's thread until it opens"]
    monkeypatch.undo()
    quick = db.quick_reads
    assert (await client.get(f"/profiles/{cid}")).status_code == 200
    assert db.quick_reads == quick + 1
    warned = [r.getMessage() for r in caplog.records if "quick reader" in r.getMessage()]
    assert warned[1:] == ["quick reader available again"]
