"""A short soak on each database: 20 clients through the whole mix against a server subprocess, then the
invariant checker: no 5xx, no unexpected answer, no violation. And the checker itself finds broken data."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from bench.invariants import Ledger, check
from bench.soak import drive
from tests.conftest import wipe
from tests.server_process import serve
from ucs_graphql.db.engine import throwaway_engine
from ucs_graphql.db.tables.interactions import interaction, interaction_content
from ucs_graphql.db.tables.journeys import new_id, task
from ucs_graphql.db.tables.profiles import ident_entry, profile

CLIENTS = 20
SECONDS = 12


async def test_short_soak_keeps_every_invariant(database_url, tmp_path):
    ledger = Ledger()
    try:
        async with serve(tmp_path, database_url) as server:
            stats = await drive(server.base_url, CLIENTS, SECONDS, ledger)
        print(stats.report())
        assert stats.server_errors() == 0 and stats.unexpected == [] and stats.no_answer == 0, stats.report()
        assert {"create", "update", "merge", "delete", "transition", "complete_svc"} <= set(stats.ms)
        assert stats.by_status()[409] > 0  # the deliberate collisions happened and were refused
        assert ledger.gone and ledger.services and ledger.interactions
        assert await check(database_url, ledger) == []
        await breaks_are_found(database_url, ledger)
    finally:
        await wipe(database_url)


async def breaks_are_found(url: str, ledger: Ledger) -> None:
    """The checker reports a lost index entry, an orphan task, a lost acknowledged profile, an interaction's
    lost content part and one given to another customer, and a profile whose create was refused."""
    engine = throwaway_engine(url)
    try:
        async with engine.begin() as conn:
            entry = (await conn.execute(select(ident_entry).limit(1))).first()
            assert entry is not None
            await conn.execute(delete(ident_entry).where(ident_entry.c.customer_id == entry.customer_id,
                                                         ident_entry.c.value == entry.value))
            await conn.execute(insert(task).values(tenant_id=1, service_id=987654321, task_type="1",
                                                   started_at=0, started='{"timestamp": "x"}',
                                                   **new_id(conn.dialect.name, task)))
            victim = next(c for c in ledger.customers if c != entry.customer_id)
            await conn.execute(delete(profile).where(profile.c.customer_id == victim))
            (lost, owner), (moved, _) = sorted((i, c) for i, c in ledger.interactions.items()
                                               if c not in ledger.unsure)[:2]
            await conn.execute(delete(interaction_content).where(interaction_content.c.interaction_id == lost))
            await conn.execute(update(interaction).where(interaction.c.interaction_id == moved)
                               .values(customer_id="someone-else"))
    finally:
        await engine.dispose()
    found = "\n".join(await check(url, ledger))
    assert f"customer {entry.customer_id} has a value of key '{entry.key}'" in found, found
    assert "its service 987654321 does not exist" in found, found
    assert f"customer {victim}: acknowledged, but there is no profile" in found, found
    assert f"interaction {lost}: flags name parts ['plain_text'], stored []" in found, found
    assert f"interaction {moved}: customer someone-else, acknowledged" in found, found
    refused = next(c for c in ledger.customers if c not in (victim, entry.customer_id, owner))
    ledger.create_refused(refused)
    assert f"customer {refused}: its create was refused, but the profile is there" in await check(url, ledger)
