"""Which workers on a SQLite file are alive: each holds, for its whole life, an exclusive `flock` on a file of its
own, `<database>-workers/<worker_id>.lock`; a worker whose file another can lock, or whose file is missing, is
dead.

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
worker's row does it holding that worker's lock.
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

    @property
    def held(self) -> bool:
        """Whether this worker holds its lock (without it, it judges no other worker)."""
        return self._fd is not None

    def _path(self, worker_id: str) -> Path:
        return self.folder / f"{worker_id}{SUFFIX}"

    def hold(self) -> bool:
        """Create and lock this worker's file (before the worker registers), and remove the files of dead
        workers found beside it; False, logged once, when the folder cannot be used (a read-only directory):
        dead workers are then found only by a mode switch, as on PostgreSQL."""
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
        self._sweep()
        return True

    def _create(self) -> int:
        """A descriptor that locks this worker's file. Another worker's sweep may lock the file between its
        creation and its lock, and remove it: the lock is then retried on a new file."""
        path = self._path(self.worker_id)
        for _attempt in range(CREATE_ATTEMPTS):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                mine, named = os.fstat(fd), os.stat(path)
                if (mine.st_dev, mine.st_ino) == (named.st_dev, named.st_ino):
                    return fd
            except (BlockingIOError, FileNotFoundError):
                pass
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
            time.sleep(0.001)
        raise OSError(f"{path} was taken from this worker {CREATE_ATTEMPTS} times")

    def _sweep(self) -> None:
        """Remove the files of dead workers (a worker killed between the creation of its file and its
        registration, or whose row was removed without them). A row still naming one is removed at the next
        read of the rows, its file being missing."""
        with contextlib.suppress(OSError):
            names = [p.name[:-len(SUFFIX)] for p in self.folder.iterdir() if p.name.endswith(SUFFIX)]
            with self.dead(names):
                pass

    def release(self) -> None:
        """Remove this worker's file and drop its lock (once its row is deleted)."""
        if self._fd is None:
            return
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
                    is_dead, fd = self._probe(worker_id)
                    if is_dead:
                        found.append(worker_id)
                    if fd is not None:
                        fds.append(fd)
            yield found
            for worker_id in found:
                with contextlib.suppress(OSError):
                    self._path(worker_id).unlink()
        finally:
            for fd in fds:
                os.close(fd)

    def _probe(self, worker_id: str) -> tuple[bool, int | None]:
        """(whether the worker is dead, a descriptor that locks its file then). Alive: its file is locked by
        another. Dead: its file could be locked, or is missing. Not judged (alive): a name that is not a plain
        file name, or a file that cannot be opened."""
        if not worker_id or worker_id.startswith(".") or "/" in worker_id or "\\" in worker_id:
            return False, None
        try:
            fd = os.open(self._path(worker_id), os.O_RDWR | os.O_CLOEXEC)  # flock on NFS needs write access
        except FileNotFoundError:
            return True, None
        except OSError:
            return False, None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False, None
        return True, fd
