"""Use case of Bulk Profile Import (CV.WS.PROF.IMPORT.1): stream a CSV file into customer profiles.

Each record is parsed, validated and sealed by the same rules as Create Customer Profile
(ucs_graphql.profiles), then written in batches of `batch-size` records: one transaction per batch holds
the batch's profiles, extension records and identification entries, so a crash keeps whole batches only
and `next-index` (response and log) is where `start-from-index` resumes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.access import tasks
from ucs_graphql.context import Ctx
from ucs_graphql.identification import index
from ucs_graphql.identification import store as ident_store
from ucs_graphql.imports.columns import Plan, RecordParser, plan_columns
from ucs_graphql.imports.options import ImportOptions, parse_description
from ucs_graphql.imports.report import BatchOutcome, Entry, ImportLog, Report
from ucs_graphql.imports.source import (
    PROFILES,
    Records,
    UnreadableRecord,
    read_records,
    resolve_in,
    tenant_dir,
    upload_log_path,
)
from ucs_graphql.kit.errors import AlreadyExists, BadParameter, MissingParameter, UcsError, Unavailable
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import IdentificationKey
from ucs_graphql.profiles.creation import BATCH_MIN, NewProfile, batch_rows, insert_new, prepare
from ucs_graphql.profiles.sealing import Sealer
from ucs_graphql.web.metrics import count_import

Authorize = Callable[[str], None]
# While a batch is being written, reading the next one gives way to it after every record: each reply
# from the database, and each step of handing the next batch over, waits for the reader's next yield.
# Read the next batch while the previous one is written (False: one after the other, as a reference).
PIPELINE = True
# Batches handed to the writer and not yet committed, beyond which reading waits: one being written and one
# ready to go the moment it commits, so that neither the database nor the reader waits on the other's
# slower batches.
AHEAD = 2
# With an id-key, the identification index's statistics are taken again when the rows this import stored reach
# this, then each time they double (_Importer._refresh_statistics).
STATISTICS_FIRST = 1000

log = logging.getLogger("ucs.import")


@dataclass
class Upload:
    """An import file received as a part of the request (spooled to disk by the web layer)."""

    file: IO[bytes]
    filename: str | None = None
    # Where `create-log` writes (default: the import directory, under the upload's name).
    log_path: Path | None = None


@dataclass
class Progress:
    """How far an import is, reported after every committed batch."""

    next_index: int
    imported: int
    refused: int
    bytes_read: int
    total_bytes: int | None


@dataclass
class _Row:
    index: int
    new: NewProfile
    key_values: set[str]


_running = 0


@contextlib.contextmanager
def _steady_heap() -> Iterator[None]:
    """While imports run, the garbage collector leaves the objects that existed before alone.

    An import keeps a batch or two of records alive at a time, so the collector's full collections come
    often, and each would walk the whole server heap (a quarter of the import's CPU time). gc.freeze
    sets the objects of the moment aside until the last import ends, when gc.unfreeze hands them back:
    nothing is kept longer than that.
    """
    global _running
    if _running == 0:
        gc.freeze()
    _running += 1
    try:
        yield
    finally:
        _running -= 1
        if _running == 0:
            gc.unfreeze()


def _id_key(schemas: TenantSchemas, name: str | None) -> IdentificationKey | None:
    if name is None:
        return None
    key = schemas.key(name.strip())
    if key is None:
        raise BadParameter("id-key", f"'{name}' is not an identification key")
    return key


def _size(raw: IO[bytes]) -> int | None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return os.fstat(raw.fileno()).st_size
    return None


class _Importer:
    """One run: reads records, keeps the current batch, commits it, reports."""

    def __init__(self, ctx: Ctx, schemas: TenantSchemas, options: ImportOptions, key: IdentificationKey | None,
                 log: ImportLog | None, progress: Callable[[Progress], None] | None) -> None:
        self.ctx = ctx
        self.schemas = schemas
        self.options = options
        self.key = key
        self.log = log
        self.progress = progress
        self.sealer = Sealer(ctx, schemas)
        self.report = Report(next_index=options.start_from_index)
        self.rows: list[_Row] = []
        self.parse_errors: list[Entry] = []
        self.batch_start = options.start_from_index
        # Commits of the batches handed to the writer, oldest first, each after the one before it, running
        # while the next batch is read (True: the import stops).
        self.writing: collections.deque[asyncio.Task[bool]] = collections.deque()
        self.bulk = options.batch_size >= BATCH_MIN  # batches are written in one statement
        self.entries = index.NewEntries(schemas, self.sealer.cipher)
        # With an id-key: the rows this import stores before the index's statistics are taken again.
        self.statistics_at = STATISTICS_FIRST

    def _over_limit(self, refused: int) -> bool:
        limit = self.options.max_errors
        return limit is not None and refused > limit

    def _read(self, parser: RecordParser, index_: int, fields: list[str]) -> None:
        """Parse and seal one record into the batch, or note why it is refused."""
        try:
            new = prepare(self.sealer, parser.parse(fields))
        except Unavailable:
            raise
        except UcsError as err:
            self.parse_errors.append({"index": index_, "reason": err.description})
            return
        values = (index.key_entries(self.key, self.schemas, self.sealer.cipher, new.attrs, new.plain_records())
                  if self.key is not None else set())
        if self.bulk:  # its rows are built now, while the previous batch is written
            new.rows = batch_rows(self.ctx.tenant, self.entries, new)
        self.rows.append(_Row(index_, new, values))

    async def run(self, records: Records, plan: Plan, total: int | None) -> None:
        """Import every record from `start-from-index`, committing a batch every `batch-size` records.

        Batches are written one after the other, each once the previous one is committed, and each counts
        its refusals after those of the batches before it, so it stops where a sequential import would
        have; up to AHEAD batches wait for their turn while the next one is read and parsed. A batch after
        one that stopped the import is not written.
        """
        start, size = self.options.start_from_index, self.options.batch_size
        parser = RecordParser(self.schemas, plan, check_values=self.ctx.settings.check_reserved_values)
        reading: Iterator[tuple[int, list[str]]] = records.rows
        end = start
        try:
            try:
                for i, fields in reading:
                    if i < start:
                        continue
                    end = i + 1
                    self._read(parser, i, fields)
                    limit = self._over_limit(self.report.refused + len(self.parse_errors))
                    if limit or end - self.batch_start >= size:
                        if await self._submit(end, records, total, last=limit):
                            return
                    elif self.writing and not self.writing[-1].done():
                        await asyncio.sleep(0)  # let the batch being written take its next round trip
            except UnreadableRecord as err:
                if await self._settle() or await self._cut(records, total):
                    return
                self.parse_errors.append({"index": end, "reason": str(err)})
                await self._commit(self._take(end), records, total)
                return
        except asyncio.CancelledError:
            await self._abandon()
            raise
        except Exception:
            # A sequential import reads this record only once the batch being written is committed: its
            # failure, or its stopping the import, comes first.
            if await self._settle():
                return
            raise
        if not await self._submit(end, records, total, last=True):
            self.report.complete = True

    async def _settle(self, keep: int = 0) -> bool:
        """Wait for the batches handed to the writer until `keep` remain (their errors are raised here); True
        when the import must stop (the batches after the one that stopped it are dropped)."""
        try:
            while len(self.writing) > keep:
                if await self.writing.popleft():
                    await self._abandon()
                    return True
        except BaseException:
            await self._abandon()
            raise
        return False

    async def _abandon(self) -> None:
        """Drop the batches still waiting to be written (after an error, a stop or a cancellation)."""
        while self.writing:
            task = self.writing.popleft()
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def _after(self, previous: asyncio.Task[bool] | None, batch: tuple[list[_Row], list[Entry], int],
                     records: Records, total: int | None) -> bool:
        """Commit a batch once the one handed over before it is committed, unless that one stopped the import."""
        if previous is not None and await previous:
            return True
        return await self._commit(batch, records, total)

    async def _cut(self, records: Records, total: int | None) -> bool:
        """With the committed batches' refusals known: when the records read since would have gone past
        `max-errors`, commit them up to that record and return True (the import stops there)."""
        if self.options.max_errors is None:
            return False
        seen = self.report.refused
        for entry in sorted(self.parse_errors, key=lambda e: e["index"]):
            seen += 1
            if self._over_limit(seen):
                cut = entry["index"]
                self.rows = [r for r in self.rows if r.index <= cut]
                self.parse_errors = [e for e in self.parse_errors if e["index"] <= cut]
                await self._commit(self._take(cut + 1), records, total)
                return True
        return False

    async def _submit(self, end: int, records: Records, total: int | None, *, last: bool) -> bool:
        """Hand the current batch (records up to `end`) to the writer once fewer than AHEAD batches wait:
        the last one is committed before returning, others in the background. True when the import stops."""
        now = last or not PIPELINE
        if await self._settle(keep=0 if now else AHEAD - 1):
            return True
        # With every batch before it committed, cut it where their refusals say (batches handed over while
        # others wait are cut as they are written, which comes to the same).
        if not self.writing and await self._cut(records, total):
            return True
        batch = self._take(end)
        if now:
            return await self._commit(batch, records, total)
        previous = self.writing[-1] if self.writing else None
        self.writing.append(asyncio.create_task(self._after(previous, batch, records, total)))
        return False

    def _take(self, end: int) -> tuple[list[_Row], list[Entry], int]:
        """The current batch, ending before record `end`; the next one starts there."""
        batch = (self.rows, self.parse_errors, end)
        self.rows, self.parse_errors = [], []
        self.batch_start = end
        return batch

    async def _commit(self, batch: tuple[list[_Row], list[Entry], int], records: Records,
                      total: int | None) -> bool:
        """Commit one batch in its transaction and report it; True when the import must stop."""
        rows, parse_errors, end = batch
        if not rows and not parse_errors:
            return False

        async def work(conn: AsyncConnection) -> BatchOutcome:
            return await self._write(conn, rows, parse_errors, end, one_by_one=False)

        async def work_one_by_one(conn: AsyncConnection) -> BatchOutcome:
            return await self._write(conn, rows, parse_errors, end, one_by_one=True)

        try:
            try:
                outcome = await self.ctx.db.write(work)
            except AlreadyExists:
                # A row clashes with a stored customer or another row: the batch's transaction is undone, and
                # written again row by row to name the rows refused.
                outcome = await self.ctx.db.write(work_one_by_one)
        except UcsError as err:
            resume = self.report.next_index
            err.description += (f" (the import stopped: the records before index {resume} are imported; resume "
                                f"with start-from-index {resume})")
            raise
        report = self.report
        report.next_index = outcome.next_index
        report.imported += outcome.imported
        report.skipped += outcome.skipped
        report.errors += outcome.errors
        report.ambiguous += outcome.ambiguous
        count_import(self.ctx.rt, outcome.imported, len(outcome.errors) + len(outcome.ambiguous))
        if self.log is not None:
            self.log.committed(outcome)
        if self.key is not None and report.imported >= self.statistics_at:
            await self._refresh_statistics()
        if self.progress is not None:
            self.progress(Progress(report.next_index, report.imported, report.refused, records.counter.consumed,
                                   total))
        return outcome.stop or self._over_limit(report.refused)

    async def _refresh_statistics(self) -> None:
        """Each batch of an import with an id-key looks its rows up among the stored entries: once the rows this
        import stored have doubled since the statistics were last taken (from STATISTICS_FIRST), take them
        again, so that the lookup keeps its plan on the index (ident_store.refresh_statistics): about ten
        times in a million rows. A refusal (an engine without it) costs the import nothing but the plan."""
        self.statistics_at = 2 * self.report.imported
        try:
            await self.ctx.db.write(ident_store.refresh_statistics)
        except Exception as err:  # statistics are a help, never a reason to stop an import
            log.info("the identification index's statistics could not be taken again: %s", err)

    async def _write(self, conn: AsyncConnection, rows: list[_Row], parse_errors: list[Entry],
                     end: int, *, one_by_one: bool) -> BatchOutcome:
        """The batch's transaction: id-key checks, then the inserts, all at once (a clash is AlreadyExists and
        the caller undoes the transaction) or `one_by_one`, each row in its own savepoint at its turn.
        Refusals are counted in record order, and one past `max-errors` cuts the batch after it."""
        out = BatchOutcome(next_index=end)
        matches = await self._matches(conn, rows)
        refused = self.report.refused
        pending = sorted([(e["index"], e) for e in parse_errors] + [(r.index, r) for r in rows],
                         key=lambda item: item[0])
        inserts: list[_Row] = []
        for at, item in pending:
            if isinstance(item, _Row):
                found = matches.get(item.index, [])
                if len(found) == 1:
                    out.skipped += 1
                    continue
                if not found:
                    if not one_by_one:
                        inserts.append(item)
                        continue
                    clash = await self._insert_one(conn, item)
                    if clash is None:
                        out.imported += 1
                        continue
                    out.errors.append({"index": at, "reason": clash})
                else:
                    out.ambiguous.append({"index": at, "reason": "Some customer(s) are already matching this "
                                                                "profile : " + ", ".join(found)})
            else:
                out.errors.append(item)
            refused += 1
            if self._over_limit(refused):
                out.next_index, out.stop = at + 1, True
                break
        if inserts:
            await insert_new(conn, self.ctx.tenant, self.schemas, self.sealer, [r.new for r in inserts], last=True)
            out.imported = len(inserts)
        return out

    async def _insert_one(self, conn: AsyncConnection, row: _Row) -> str | None:
        """Insert one row in its own savepoint; the reason it is refused, or None."""
        try:
            async with conn.begin_nested():
                await insert_new(conn, self.ctx.tenant, self.schemas, self.sealer, [row.new])
        except Unavailable:
            raise
        except UcsError as err:
            return err.description
        return None

    async def _matches(self, conn: AsyncConnection, rows: list[_Row]) -> dict[int, list[str]]:
        """With an id-key: the customers each row matches, stored ones or earlier rows of this batch."""
        if self.key is None or not rows:
            return {}
        stored = await ident_store.lookup_values(conn, self.ctx.tenant, self.key.key,
                                                 [v for r in rows for v in r.key_values])
        earlier: dict[str, str] = {}
        out: dict[int, list[str]] = {}
        for row in rows:
            found = {c for v in row.key_values for c in stored.get(v, [])}
            found |= {earlier[v] for v in row.key_values if v in earlier}
            out[row.index] = sorted(found)
            if not found:
                earlier.update(dict.fromkeys(row.key_values, row.new.customer_id))
        return out


def _open_source(stack: contextlib.ExitStack, ctx: Ctx, options: ImportOptions,
                 upload: Upload | None) -> tuple[IO[bytes], str, Path | None]:
    """The file to read, how to name it in the log, and where its log goes (with `create-log`)."""
    import_dir = ctx.settings.import_dir
    if upload is not None:
        log_path = None
        if options.create_log:
            log_path = upload.log_path or upload_log_path(import_dir, ctx.tenant, upload.filename)
        return upload.file, upload.filename or "(uploaded part)", log_path
    path = resolve_in(import_dir, ctx.tenant, options.profiles or "")
    return stack.enter_context(path.open("rb")), str(path), Path(f"{path}.log") if options.create_log else None


def _relative(path: Path, ctx: Ctx) -> str:
    """A log's name for the response: relative to the tenant's import directory when inside it."""
    root = tenant_dir(ctx.settings.import_dir, ctx.tenant)
    return os.path.relpath(path, root) if path.resolve().is_relative_to(root) else str(path)


def _open_log(path: Path, ctx: Ctx) -> ImportLog:
    try:
        return ImportLog(path)
    except OSError as err:  # a symbolic link, a directory of that name, no permission
        raise BadParameter("create-log", f"the log {_relative(path, ctx)} cannot be written: {err.strerror}") from err


def admit(ctx: Ctx, authorize: Authorize | None = None) -> None:
    """What an import is refused for before its request body is read: production mode, and a caller without
    createProfile (`authorize`, when given, asks for a task)."""
    ctx.require_maintenance("bulk profile import")
    if authorize is not None:
        authorize(tasks.CREATE_PROFILE)


@dataclass
class Prepared:
    """A checked description, with what it names (the tenant's schemas, the id-key)."""

    options: ImportOptions
    schemas: TenantSchemas
    key: IdentificationKey | None

    def check_upload(self, ctx: Ctx, filename: str | None) -> None:
        """Refuse an uploaded file before it is stored: a `profiles` path was given too, or its name (that of
        its log, with `create-log`) is not a plain file name."""
        if self.options.profiles is not None:
            raise BadParameter(PROFILES, "give either a 'profiles' path in the description or a 'profiles' part, "
                                         "not both")
        if self.options.create_log:
            upload_log_path(ctx.settings.import_dir, ctx.tenant, filename)


async def check_description(ctx: Ctx, description: Any) -> Prepared:
    """Check the description and what it names (the id-key; a `profiles` path is opened when the import runs)."""
    options = parse_description(description)
    schemas = await ctx.schemas()
    return Prepared(options, schemas, _id_key(schemas, options.id_key))


async def run(ctx: Ctx, prepared: Prepared, upload: Upload | None = None, *, authorize: Authorize | None = None,
              progress: Callable[[Progress], None] | None = None) -> Report:
    """Import the file of a prepared description: createProfileExtension is asked for (by `authorize`) when
    the file's header names extension columns."""
    options, schemas = prepared.options, prepared.schemas
    if upload is not None:  # an upload given its log's path (the command's own file) has no name to check
        prepared.check_upload(ctx, upload.filename if upload.log_path is None else None)
    if upload is None and options.profiles is None:
        raise MissingParameter(PROFILES, "give the path of a file in the server's import directory, or upload "
                                         "the file as a multipart part named 'profiles'")
    with contextlib.ExitStack() as stack:
        raw, source, log_path = _open_source(stack, ctx, options, upload)
        records = read_records(raw, options.encoding, options.delimiter)
        plan = plan_columns(schemas, records.header)
        if authorize is not None and plan.ext_fields:
            authorize(tasks.CREATE_PROFILE_EXTENSION)
        log = _open_log(log_path, ctx) if log_path is not None else None
        importer = _Importer(ctx, schemas, options, prepared.key, log, progress)
        if log is not None:
            importer.report.log = _relative(log.path, ctx)
            log.started(source, {k.replace("_", "-"): v for k, v in vars(options).items() if k != "profiles"})
        reason = None
        try:
            with _steady_heap():
                await importer.run(records, plan, _size(raw))
        except UcsError as err:
            reason = err.description
            raise
        finally:
            if log is not None:
                log.finished(importer.report, reason)
    return importer.report


async def import_profiles(
    ctx: Ctx, description: Any, upload: Upload | None = None, *, authorize: Authorize | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Report:
    """Import the profiles of a CSV file (a `profiles` path in the tenant's import directory, or an uploaded
    part): admit, check_description and run in one call.

    Maintenance mode only. `authorize`, when given, is asked for the tasks the import needs beyond
    executeBulkImport: createProfile, and createProfileExtension when the file has extension columns.
    """
    admit(ctx, authorize)
    return await run(ctx, await check_description(ctx, description), upload, authorize=authorize, progress=progress)
