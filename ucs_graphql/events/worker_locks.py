"""Which workers on a SQLite file are alive: each holds, for its whole life, an exclusive `flock` on a file of its
own, `<database>-workers/<worker_id>.lock`; a worker whose file another can lock is dead. A worker without a file
(one that could not create it, one of an earlier version, one whose file was removed by hand) is not judged:
it stays a peer, and a mode switch presumes it gone if it does not answer, as on PostgreSQL.

Why a lock and not the pid stored in server_worker: a pid names a process only inside its PID namespace (two
containers sharing the database's volume can both have a pid 1, and neither can see the other's processes),
and the kernel gives it to another process once its owner dies, so "is pid N running" may answer for the
wrong process. The kernel releases a `flock` when the last descriptor of its open file closes, which happens
however the process ends (clean stop, SIGKILL, out of memory, a container's crash), and the lock conflicts
with every other open file of the same file, in any process and any namespace of the host. Holding it costs
nothing while the server is idle: no write, no poll; a worker's liveness is looked at only when the workers'
rows are read (when the database's data version moved, and at start).

Why a file of its own and never the database: POSIX record locks (`fcntl`, `lockf`) on the database or its
-wal and -shm files would be dropped as soon as SQLite closes any descriptor of that file in the process, and
would break SQLite's own locking; a `flock` on a separate file touches neither.

The order that makes the rule safe: a worker creates and locks its file before it inserts its row, and at a
clean stop deletes its row before it removes its file. A row therefore exists only while its file is locked,
unless its worker died (or is just leaving): a live worker is never judged dead, and whoever removes a dead
worker's row does it holding that worker's lock, on the file its name still names (a file another judge
removed meanwhile, and the worker of that name created again, is not taken for it), and removes that file only.
A worker that could not delete its row at a clean stop leaves its file unlocked, for the others to remove both.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

log = logging.getLogger("ucs.events")

SUFFIX = ".lock"
CREATE_ATTEMPTS = 100


def folder_of(database: Path) -> Path:
    """The folder of the workers' lock files of a SQLite database file."""
    return Path(f"{database}-workers")


class WorkerLocks:
    """This worker's lock on its own file, and the test of the others' (see the module's docstring)."""

    def __init__(self, database: Path, worker_id: str) -> None:
        self.folder = folder_of(database)
        self.worker_id = worker_id
        self._fd: int | None = None
        self._warned = False

    def _path(self, worker_id: str) -> Path:
        return self.folder / f"{worker_id}{SUFFIX}"

    def hold(self) -> bool:
        """Create and lock this worker's file (before the worker registers); False, logged once, when the folder
        cannot be used (a read-only directory): dead workers are then found only by a mode switch, as on
        PostgreSQL."""
        if self._fd is not None:
            return True
        try:
            self.folder.mkdir(mode=0o755, exist_ok=True)
            self._fd = self._create()
        except OSError as err:
            if not self._warned:
                self._warned = True
                log.warning("cannot hold this worker's lock file in %s (%s): a worker killed without leaving is "
                            "found only by the next mode switch", self.folder, err)
            return False
        return True

    def _create(self) -> int:
        """A descriptor that locks this worker's file. Another worker's sweep may lock the file between its
        creation and its lock, and remove it: the lock is then retried on a new file."""
        path = self._path(self.worker_id)
        for _attempt in range(CREATE_ATTEMPTS):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                if _locked_as_named(fd, path):
                    return fd
            except (BlockingIOError, FileNotFoundError):
                pass
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
            time.sleep(0.001)
        raise OSError(f"{path} was taken from this worker {CREATE_ATTEMPTS} times")

    def others(self) -> list[str]:
        """The workers whose files are in the folder, this one aside (alive, or dead and not yet removed: a
        worker killed before it registered, or whose row nobody has read since)."""
        try:
            names = [p.name[:-len(SUFFIX)] for p in self.folder.iterdir() if p.name.endswith(SUFFIX)]
        except OSError:
            return []
        return [name for name in names if name != self.worker_id]

    def release(self, remove: bool = True) -> None:
        """Drop this worker's lock; with `remove` (its row is deleted), remove its file first. Without, the file
        is left unlocked: the others take this worker for dead and remove its row and file."""
        if self._fd is None:
            return
        if remove:
            with contextlib.suppress(OSError):
                self._path(self.worker_id).unlink()
        os.close(self._fd)
        self._fd = None

    @contextlib.contextmanager
    def dead(self, worker_ids: Iterable[str]) -> Iterator[list[str]]:
        """The workers among `worker_ids` (this one aside) that are dead, none when this worker holds no lock.
        Their locks are held while the block runs, and their files removed when it ends without an exception
        (the block deletes their rows)."""
        found: list[str] = []
        fds: list[int] = []
        try:
            if self._fd is not None:
                for worker_id in worker_ids:
                    if worker_id == self.worker_id:
                        continue
                    fd = self._probe(worker_id)
                    if fd is not None:
                        found.append(worker_id)
                        fds.append(fd)
            yield found
            for worker_id in found:
                with contextlib.suppress(OSError):
                    self._path(worker_id).unlink()
        finally:
            for fd in fds:
                os.close(fd)

    def _probe(self, worker_id: str) -> int | None:
        """A descriptor that locks the worker's file when the worker is dead: its file could be locked and its
        name still names it. Else None, the worker alive or not judged: its file is locked by another, is
        missing, cannot be opened, or was replaced once opened (another judge removed it, and the worker of
        that name created and locked a new one); or the name is not a plain file name."""
        if not worker_id or worker_id.startswith(".") or "/" in worker_id or "\\" in worker_id:
            return None
        path = self._path(worker_id)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)  # flock on NFS needs write access
        except OSError:
            return None
        try:
            if _locked_as_named(fd, path):
                return fd
        except OSError:
            pass
        os.close(fd)
        return None


def _locked_as_named(fd: int, path: Path) -> bool:
    """Lock `fd` exclusively without waiting (OSError when another holds the lock); whether its file is then
    still the one `path` names (not removed, nor replaced by a new file of that name, meanwhile)."""
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    mine, named = os.fstat(fd), os.stat(path)
    return (mine.st_dev, mine.st_ino) == (named.st_dev, named.st_ino)
